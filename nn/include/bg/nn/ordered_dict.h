#pragma once
// OrderedDict: values by name, in insertion order (parameters, buffers, children, state dicts).

#include <cstddef>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bg/core/api.h"
#include "bg/core/error.h"

BG_API_BEGIN

namespace bg::nn {

template <typename Value>
class OrderedDict {
 public:
  /// One entry, with LibTorch's accessors: `for (auto& item : dict) item.key(), item.value()`.
  class Item {
   public:
    Item(std::string key, Value value) : key_(std::move(key)), value_(std::move(value)) {}
    const std::string& key() const { return key_; }
    Value& value() { return value_; }
    const Value& value() const { return value_; }

   private:
    std::string key_;
    Value value_;
  };

  /// Adds `value` under `key`; throws if the key is taken.
  Value& insert(std::string key, Value value) {
    const bool added = index_.emplace(key, items_.size()).second;
    BG_CHECK(added, "OrderedDict", "the key '", key, "' is already present");
    items_.emplace_back(std::move(key), std::move(value));
    return items_.back().value();
  }

  /// The value under `key`, or null.
  Value* find(const std::string& key) {
    const auto it = index_.find(key);
    return it == index_.end() ? nullptr : &items_[it->second].value();
  }
  const Value* find(const std::string& key) const {
    return const_cast<OrderedDict*>(this)->find(key);
  }
  bool contains(const std::string& key) const { return find(key) != nullptr; }

  /// The value under `key`; throws naming the key when absent.
  Value& operator[](const std::string& key) {
    Value* value = find(key);
    BG_CHECK(value != nullptr, "OrderedDict", "no key '", key, "'");
    return *value;
  }
  const Value& operator[](const std::string& key) const {
    return const_cast<OrderedDict&>(*this)[key];
  }

  /// Removes `key`; returns whether it was present.
  bool erase(const std::string& key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return false;
    const size_t position = it->second;
    index_.erase(it);
    items_.erase(items_.begin() + static_cast<std::ptrdiff_t>(position));
    for (size_t i = position; i < items_.size(); ++i) index_[items_[i].key()] = i;
    return true;
  }

  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }
  const std::vector<Item>& items() const { return items_; }

  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const Item& item : items_) out.push_back(item.key());
    return out;
  }
  std::vector<Value> values() const {
    std::vector<Value> out;
    for (const Item& item : items_) out.push_back(item.value());
    return out;
  }

 private:
  std::vector<Item> items_;
  // The position of each key in items_: lookups stay O(1) in dicts of millions of entries (the
  // tensors of a checkpoint).
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace bg::nn

BG_API_END
