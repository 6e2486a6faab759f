// keel::sql::rows<T>: a query result whose std::string_view fields point into text the result itself owns.
//
// A row type with `std::string_view` (or `std::optional<std::string_view>`) fields maps each text column by
// copying it into one growing buffer owned by the result, instead of one std::string (one allocation) per
// field per row. `query<T>` returns `rows<T>` for such a T; the views stay valid as long as the rows object,
// also after it is moved. Use it for read-mostly pages (a list rendered into a response); use std::string
// fields for rows you keep or change.
#pragma once

#include "keel/config.hpp"
#include "keel/json/reflect.hpp"

#include <boost/pfr.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace keel {
inline namespace v0 {
namespace sql {

namespace detail {

// Copies of column text in blocks that never move, so a view handed out stays valid until the arena dies;
// moving the arena moves the block list, not the text.
class text_arena {
 public:
  text_arena() = default;
  text_arena(text_arena&& other) noexcept
      : head_(std::exchange(other.head_, nullptr)),
        next_(std::exchange(other.next_, nullptr)),
        end_(std::exchange(other.end_, nullptr)) {}
  text_arena& operator=(text_arena&& other) noexcept {
    if (this != &other) {
      release();
      head_ = std::exchange(other.head_, nullptr);
      next_ = std::exchange(other.next_, nullptr);
      end_ = std::exchange(other.end_, nullptr);
    }
    return *this;
  }
  text_arena(const text_arena&) = delete;
  text_arena& operator=(const text_arena&) = delete;
  ~text_arena() { release(); }

  std::string_view copy(std::string_view text) {
    if (text.empty()) return std::string_view("", 0);
    if (static_cast<std::size_t>(end_ - next_) < text.size()) add_block(text.size());
    char* at = next_;
    std::memcpy(at, text.data(), text.size());
    next_ += text.size();
    return {at, text.size()};
  }

 private:
  struct block {
    block* previous;
    std::size_t size;  // bytes of text room after this header
  };
  // A page of a dozen short rows fits the first block: one allocation for all of its text.
  static constexpr std::size_t first_block_room = 4096 - sizeof(block);

  void add_block(std::size_t at_least) {
    const std::size_t room = std::max(at_least, head_ == nullptr ? first_block_room : head_->size * 2);
    auto* b = static_cast<block*>(::operator new(sizeof(block) + room));
    b->previous = head_;
    b->size = room;
    head_ = b;
    next_ = reinterpret_cast<char*>(b + 1);
    end_ = next_ + room;
  }
  void release() noexcept {
    while (head_ != nullptr) {
      block* previous = head_->previous;
      ::operator delete(head_);
      head_ = previous;
    }
  }

  block* head_ = nullptr;
  char* next_ = nullptr;
  char* end_ = nullptr;
};

template <class F>
inline constexpr bool is_text_view_v =
    std::is_same_v<F, std::string_view> || std::is_same_v<F, std::optional<std::string_view>>;

template <class T>
consteval bool has_text_view_field() {
  if constexpr (Dto<T>) {
    return []<std::size_t... I>(std::index_sequence<I...>) {
      return (is_text_view_v<boost::pfr::tuple_element_t<I, T>> || ...);
    }
    (std::make_index_sequence<boost::pfr::tuple_size_v<T>>{});
  } else {
    return false;
  }
}

}  // namespace detail

// A row type some of whose fields borrow their text from the result (see the top of this header).
template <class T>
concept RowWithTextViews = detail::has_text_view_field<T>();

template <class T>
class rows {
 public:
  using value_type = T;
  using iterator = typename std::vector<T>::iterator;
  using const_iterator = typename std::vector<T>::const_iterator;

  rows() = default;
  rows(rows&&) noexcept = default;
  rows& operator=(rows&&) noexcept = default;
  // A copy would share the text of the original and dangle once the original goes.
  rows(const rows&) = delete;
  rows& operator=(const rows&) = delete;

  iterator begin() noexcept { return items_.begin(); }
  iterator end() noexcept { return items_.end(); }
  const_iterator begin() const noexcept { return items_.begin(); }
  const_iterator end() const noexcept { return items_.end(); }
  std::size_t size() const noexcept { return items_.size(); }
  bool empty() const noexcept { return items_.empty(); }
  T& operator[](std::size_t i) noexcept { return items_[i]; }
  const T& operator[](std::size_t i) const noexcept { return items_[i]; }
  T& front() noexcept { return items_.front(); }
  T& back() noexcept { return items_.back(); }
  const std::vector<T>& items() const noexcept { return items_; }

  void reserve(std::size_t n) { items_.reserve(n); }
  // A row added by the caller: its views must point at text that outlives the rows (a literal, or keep()).
  void push_back(const T& row) { items_.push_back(row); }
  void push_back(T&& row) { items_.push_back(std::move(row)); }
  // A copy of text that lives as long as these rows.
  std::string_view keep(std::string_view text) { return text_.copy(text); }

  detail::text_arena& text() noexcept { return text_; }

 private:
  std::vector<T> items_;
  detail::text_arena text_;
};

namespace detail {
// What a query for rows of T returns.
template <class T>
using rows_result_t = std::conditional_t<RowWithTextViews<T>, rows<T>, std::vector<T>>;
}  // namespace detail

}  // namespace sql
}  // namespace v0
}  // namespace keel
