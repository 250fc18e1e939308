#pragma once
// Dropout's mask: the kept positions scaled by 1/(1-p), so backward is one multiply.
#include <cstdint>

#include "parallel.hpp"

namespace backprop::kernels {

/// m[i] = keep[i] ? scale : 0; `keep` is anything indexable by position (read only).
template <class T, class Keep>
void dropout_mask(T* m, int64_t n, const Keep& keep, T scale) {
  parallel_for(n, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) m[i] = keep[static_cast<size_t>(i)] ? scale : T(0);
  });
}

}  // namespace backprop::kernels
