# Cross-compiling for 64-bit Arm Linux with Debian's cross toolchain (g++-aarch64-linux-gnu) and arm64
# libraries installed through multiarch (`dpkg --add-architecture arm64`, then libsqlite3-dev:arm64 ...), as
# scripts/install-deps --edge sets it up. Header-only dependencies (Asio, Boost, Catch2) are the host's.
# Test programs run under qemu-user-static: CMake uses the emulator to list Catch2's test cases and ctest to
# run them. Used by scripts/build-edge --arch aarch64.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_AR aarch64-linux-gnu-gcc-ar CACHE FILEPATH "")
set(CMAKE_RANLIB aarch64-linux-gnu-gcc-ranlib CACHE FILEPATH "")
set(CMAKE_STRIP aarch64-linux-gnu-strip CACHE FILEPATH "")
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static)
# Multiarch: the arm64 libraries live in /usr/lib/aarch64-linux-gnu (CMake picks that directory from the
# compiler); pkg-config must not hand out the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
