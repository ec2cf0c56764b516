#include "tools/target/transient.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

namespace strain::target {

std::chrono::nanoseconds transient_hold(std::chrono::nanoseconds every) noexcept {
  return std::min<std::chrono::nanoseconds>(std::chrono::seconds(1), every / 2);
}

Transient::~Transient() {
  release();
}

bool Transient::take() noexcept {
  if (buffer_ != nullptr) return true;
  const auto n = static_cast<std::size_t>(bytes_);
  // Not malloc: glibc raises its mmap and trim thresholds after freeing a large mapped block,
  // and later frees would then stay in the heap and lift the floor this shape promises is flat.
  void* p = ::mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  auto* bytes = static_cast<volatile char*>(p);
  for (std::size_t at = 0; at < n; at += page)
    bytes[at] = 1;
  buffer_ = p;
  held_.store(bytes_, std::memory_order_relaxed);
  cycles_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void Transient::release() noexcept {
  if (buffer_ == nullptr) return;
  ::munmap(buffer_, static_cast<std::size_t>(bytes_));
  buffer_ = nullptr;
  held_.store(0, std::memory_order_relaxed);
}

}  // namespace strain::target
