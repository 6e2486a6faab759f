#!/usr/bin/env python3
"""Checks the test suite's own conventions (run by ctest as `test_conventions`):
  - every Catch2 TEST_CASE carries at least one [tag], so `ctest -L`/`-R` and `test -- "[tag]"` find it;
  - no TEST_CASE name starts with '-' (ctest runs each case by passing its name to the binary, and Catch
    takes a leading '-' for an option: the case would fail without running);
  - the keel_test(...) lines of tests/CMakeLists.txt are in alphabetical order, as its comment says;
  - no test file is left out of tests/CMakeLists.txt.
Exits 1 and names every offence."""
import pathlib
import re
import sys

tests = pathlib.Path(__file__).resolve().parent.parent
problems = []

# TEST_CASE("name" ...) up to the opening brace of its body; names may contain braces, so skip the literals.
literal = r'"(?:[^"\\]|\\.)*"'
case = re.compile(r'\bTEST_CASE\s*\(((?:\s*(?:' + literal + r'|[A-Z_]+)\s*)+)(?:,\s*(' + literal + r'))?\s*\)')
for path in sorted(list(tests.rglob('*.cpp')) + list(tests.rglob('*.inc'))):
    if 'compile_fail' in path.parts or 'fuzz' in path.parts:
        continue
    text = path.read_text(encoding='utf-8', errors='replace')
    for m in re.finditer(r'\bTEST_CASE\s*\(', text):
        parsed = case.match(text, m.start())
        line = text.count('\n', 0, m.start()) + 1
        if not parsed or not parsed.group(2) or '[' not in parsed.group(2):
            problems.append(f'{path.relative_to(tests)}:{line}: TEST_CASE without a [tag]')
        if parsed and re.match(r'\s*"-', parsed.group(1)):
            problems.append(f'{path.relative_to(tests)}:{line}: TEST_CASE name starting with "-" (read as an option)')

cmake = (tests / 'CMakeLists.txt').read_text()
names = re.findall(r'^keel_test\((\w+)', cmake, flags=re.M)
if names != sorted(names):
    for a, b in zip(names, names[1:]):
        if a > b:
            problems.append(f'CMakeLists.txt: keel_test({b}) comes after keel_test({a}): keep the list sorted')
listed = set(names)
for path in sorted(tests.glob('*_test.cpp')):
    if path.stem not in listed and path.stem not in cmake:
        problems.append(f'{path.name}: not built by tests/CMakeLists.txt')

for p in problems:
    print(p)
print(f'test_conventions: {len(problems)} problem(s) in {len(names)} keel_test lines')
sys.exit(1 if problems else 0)
