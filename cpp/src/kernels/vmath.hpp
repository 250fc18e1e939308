#pragma once
// Elementwise math written once for plain scalars and for GCC/Clang vector types
// (`float __attribute__((vector_size(32)))` and the like). A scalar argument goes to the C
// library (the portable kernels keep libm's accuracy); a vector argument runs the branch-free
// approximations below, which kernels/vmath_avx2.cpp and vmath_avx512.cpp compile with their own
// -m flags. Nothing here is instantiated for vectors outside those files.
//
// Error bounds, in ulps from the correctly rounded result (measured by
// tests/test_vector_math.py over every 1024th float32 bit pattern of both signs, the edges,
// denormals, +-0, +-inf and NaN; float64 over 600k random values against libm, whose own error
// is included):
//   float32: exp, log <= 1; tanh, sigmoid <= 2; log1p (as softplus uses it) <= 3
//   float64: exp, log <= 1; tanh, sigmoid <= 3
//   GELU (float32, through normal_cdf_f32): within 7 ulps of the exact value wherever Phi(x) is
//   a normal number (x above about -13), the lower tail included
// The float32 exp and GELU were also swept over every float32 on AVX2: exp at most 1.02 ulps
// from the exact value (so at most 1 from the correctly rounded one), GELU 6.6.
// Range reduction is exact (the high part of ln 2 has trailing zero bits), the polynomials are
// fitted or truncated Taylor series whose error sits far below half an ulp on the reduced range,
// so the bound is the rounding of the few operations that follow.
// Special values follow C99 Annex F: exp(-inf) = 0, exp(+inf) = inf, log(0) = -inf,
// log(x < 0) = NaN, NaN in gives NaN out; results that underflow are correctly scaled denormals.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#if defined(__AVX__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace backprop::kernels::vm {

template <class V>
inline constexpr bool is_vec_v = !std::is_arithmetic_v<V>;

template <class V>
struct elem {
  using type = std::remove_cv_t<std::remove_reference_t<decltype(std::declval<V&>()[0])>>;
};
template <class S>
struct elem_scalar {
  using type = S;
};
/// The lane type of a vector, or the type itself for a scalar.
template <class V>
using elem_t = typename std::conditional_t<is_vec_v<V>, elem<V>, elem_scalar<V>>::type;

/// The vector of N lanes of T (GCC/Clang vector extension).
template <class T, int N>
struct vec {
  typedef T type __attribute__((vector_size(N * sizeof(T))));
};

namespace detail {

template <class S>
using bits_of = std::conditional_t<sizeof(S) == 4, uint32_t, uint64_t>;
/// Unsigned integer vector with the lanes of V.
template <class V>
using uvec_t = typename vec<bits_of<elem_t<V>>, sizeof(V) / sizeof(elem_t<V>)>::type;

template <class V>
V splat(elem_t<V> s) {
  V z = {};
  return s - z;  // s - 0 keeps -0, inf and NaN as they are
}

template <class V>
uvec_t<V> as_bits(V x) {
  return (uvec_t<V>)x;
}
template <class V, class U>
V from_bits(U u) {
  return (V)u;
}

// 1.5 * 2^(mantissa bits): adding it to |x| < 2^(mantissa bits - 1) rounds x to an integer
// (ties to even) and leaves that integer in the low bits.
template <class S>
constexpr S round_magic() {
  return sizeof(S) == 4 ? S(0x1.8p23) : S(0x1.8p52);
}

// x rounded to the nearest integer (ties to even), valid for |x| < 2^(mantissa bits - 1).
template <class V>
V round_int(V x) {
  const auto magic = round_magic<elem_t<V>>();
  return (x + magic) - magic;
}

// 2^n for integral n in the normal exponent range, built from the bits of n + 1.5 * 2^mant (the
// form round_int passes through, so a caller that has it skips an add).
template <class V>
V pow2_of_shifted(V shifted) {
  using S = elem_t<V>;
  constexpr bool f32 = sizeof(S) == 4;
  const S magic = round_magic<S>();
  const auto bias = f32 ? 127u : 1023u;
  const int mant = f32 ? 23 : 52;
  // The low bits of n + magic hold n; modulo 2^bits, bits(n + magic) + bias - bits(magic) is n + bias.
  const bits_of<S> offset = bits_of<S>(bias) - as_bits(splat<V>(magic))[0];
  return from_bits<V>((as_bits(shifted) + offset) << mant);
}

// 2^n for integral n in the normal exponent range.
template <class V>
V pow2_int(V n) {
  return pow2_of_shifted(n + round_magic<elem_t<V>>());
}

// Whether any lane of a comparison result is set: one test instruction where the ISA has it, so
// a loop can take a rare slow path only for the vectors that need it.
template <class M>
bool any_lane(M m) {
#if defined(__AVX512F__)
  if constexpr (sizeof(M) == 64) return _mm512_test_epi32_mask((__m512i)m, (__m512i)m) != 0;
#endif
#if defined(__AVX__)
  if constexpr (sizeof(M) == 32) return !_mm256_testz_si256((__m256i)m, (__m256i)m);
#endif
  bool any = false;
  for (int i = 0; i < int(sizeof(M) / sizeof(m[0])); ++i) any |= m[i] != 0;
  return any;
}

template <class V>
V abs_v(V x) {
  using U = uvec_t<V>;
  using S = elem_t<V>;
  const auto mask = ~(bits_of<S>(1) << (sizeof(S) * 8 - 1));
  return from_bits<V>(as_bits(x) & U(mask - U{}));
}

// c_n x^n + ... + c_1 x + c_0 by Horner's rule, the coefficients from the highest power down;
// each step is one fused multiply-add (the vmath files are built with -ffp-contract=fast).
template <class V, class... C>
V horner(V x, elem_t<V> highest, C... lower) {
  V p = splat<V>(highest);
  ((p = p * x + elem_t<V>(lower)), ...);
  return p;
}

// p * 2^n for integral n with 2^n normal, given shifted = n + 1.5 * 2^mant. AVX-512 has it as
// one instruction (vscalef), in place of the integer add and shift that build 2^n and the multiply.
template <class V>
V times_pow2(V p, V n, V shifted) {
#if defined(__AVX512F__)
  // The masked forms with every lane set: GCC 12's unmasked ones pass an undefined source that
  // -Wmaybe-uninitialized reports.
  if constexpr (sizeof(V) == 64 && sizeof(elem_t<V>) == 4)
    return (V)_mm512_mask_scalef_ps((__m512)p, __mmask16(0xffff), (__m512)p, (__m512)n);
  if constexpr (sizeof(V) == 64 && sizeof(elem_t<V>) == 8)
    return (V)_mm512_mask_scalef_pd((__m512d)p, __mmask8(0xff), (__m512d)p, (__m512d)n);
#endif
  return p * pow2_of_shifted(shifted);
}

// e^(x + x_lo) = p(r) * 2^n; `normal_range` says every lane of x lies where 2^n is normal. x_lo
// is a low part below half an ulp of x (kWithLow), which joins r after the exact reduction.
template <bool kWithLow = false, class V>
V exp_reduced(V x, bool normal_range, V x_lo = V{}) {
  using S = elem_t<V>;
  constexpr bool f32 = sizeof(S) == 4;
  // Past these the result is already 0 or inf; clamping keeps 2^n's two halves normal.
  const S lo = f32 ? S(-105) : S(-746), hi = f32 ? S(89) : S(710);
  const S log2e = S(1.4426950408889634074);
  const S magic = round_magic<S>();
  // ln 2 = hi + lo with hi short enough that n * hi is exact for every n reached here.
  const S ln2_hi = f32 ? S(0.693359375) : S(6.93147180369123816490e-01);
  const S ln2_lo = f32 ? S(-2.12194440e-4) : S(1.90821492927058770002e-10);
  // NaN passes the clamps (both comparisons are false) and poisons p, so it comes out as NaN.
  V xc = x;
  if (!normal_range) {
    xc = x < lo ? splat<V>(lo) : x;
    xc = xc > hi ? splat<V>(hi) : xc;
  }
  V shifted = xc * log2e + magic;  // n + magic: n = round(x log2 e), as round_int would give
  V n = shifted - magic;
  V r = xc - n * ln2_hi;
  r = r - n * ln2_lo;  // |r| <= ln2 / 2 (plus an ulp)
  if constexpr (kWithLow) r = r + x_lo;
  // e^r = 1 + r + r^2 p(r). float: p of degree 4 fitted by iterated weighted least squares on
  // |r| <= 0.3467, coefficients rounded to float32 one at a time with the rest refitted; relative
  // error 3.1e-9. double: the Taylor series of degree 13, first omitted term below 3e-18.
  V p;
  if constexpr (f32) {
    p = horner(r, S(0.0013820742), S(0.008368676), S(0.041668266), S(0.16666521), S(0.49999994));
  } else {
    p = horner(r, S(1.0 / 6227020800.0), S(1.0 / 479001600.0), S(1.0 / 39916800.0), S(1.0 / 3628800.0),
               S(1.0 / 362880.0), S(1.0 / 40320.0), S(1.0 / 5040.0), S(1.0 / 720.0), S(1.0 / 120.0),
               S(1.0 / 24.0), S(1.0 / 6.0), S(0.5));
  }
  p = (p * r) * r + r + S(1);
  if (normal_range) return times_pow2(p, n, shifted);
  // Two halves so that 2^n1 and 2^n2 stay normal while p * 2^n reaches denormals and inf with
  // one rounding (p * 2^n1 is exact).
  V n1 = round_int(n * S(0.5));
  V n2 = n - n1;
  return (p * pow2_int(n1)) * pow2_int(n2);
}

// The bound below which e^x's 2^n is a normal number in both directions.
template <class S>
constexpr S exp_fast_limit() {
  return sizeof(S) == 4 ? S(87) : S(708);
}

template <class V>
V exp_v(V x) {
  using S = elem_t<V>;
  // Where every lane's 2^n is a normal number (the common case by far), one scaling does and the
  // clamps are not needed. NaN fails the comparison and stays NaN through the fast path.
  if (!any_lane(abs_v(x) > exp_fast_limit<S>())) return exp_reduced(x, true);
  return exp_reduced(x, false);
}

template <class V>
V log_v(V x) {
  using S = elem_t<V>;
  using U = uvec_t<V>;
  using B = bits_of<S>;
  constexpr bool f32 = sizeof(S) == 4;
  const int mant = f32 ? 23 : 52;
  const S min_normal = std::numeric_limits<S>::min();
  const S lift = f32 ? S(0x1p24) : S(0x1p54);
  const S lift_exp = f32 ? S(24) : S(54);
  const B one_bits = f32 ? B(0x3f800000u) : B(0x3ff0000000000000ull);
  const B sqrt_half_bits = f32 ? B(0x3f3504f3u) : B(0x3fe6a09e667f3bcdull);
  const B mant_mask = (B(1) << mant) - 1;
  const B bias = f32 ? B(127) : B(1023);
  const S ln2_hi = f32 ? S(0.693359375) : S(6.93147180369123816490e-01);
  const S ln2_lo = f32 ? S(-2.12194440e-4) : S(1.90821492927058770002e-10);
  const S magic = round_magic<S>();

  auto sub = x < min_normal;
  V xs = sub ? x * lift : x;  // denormals become normal; the exponent is corrected below
  // Shift the exponent boundary to sqrt(1/2) so the mantissa m lands in [sqrt(1/2), sqrt(2)).
  U ix = as_bits(xs) + U((one_bits - sqrt_half_bits) - U{});
  U k = (ix >> mant) - U(bias - U{});  // the exponent, two's complement
  V e = from_bits<V>(as_bits(splat<V>(magic)) + k) - magic;
  e = sub ? e - lift_exp : e;
  V m = from_bits<V>((ix & U(mant_mask - U{})) + U(sqrt_half_bits - U{}));
  V f = m - S(1);  // exact (Sterbenz)
  V s = f / (f + S(2));
  V z = s * s;
  // log(1 + f) = 2 atanh(s) = 2s + 2s^3/3 + 2s^5/5 + ..., with 2s = f - s f; |s| < 0.1716,
  // the first omitted term is below 1e-9 (float) and 1e-18 (double) relative.
  V q;
  if constexpr (f32) {
    q = horner(z, S(2.0 / 9), S(2.0 / 7), S(2.0 / 5), S(2.0 / 3));
  } else {
    q = horner(z, S(2.0 / 23), S(2.0 / 21), S(2.0 / 19), S(2.0 / 17), S(2.0 / 15), S(2.0 / 13), S(2.0 / 11),
               S(2.0 / 9), S(2.0 / 7), S(2.0 / 5), S(2.0 / 3));
  }
  V lm = f - (s * f - (s * z) * q);
  V y = e * ln2_hi + (lm + e * ln2_lo);
  const S inf = std::numeric_limits<S>::infinity();
  y = x == S(0) ? splat<V>(-inf) : y;
  y = x < S(0) ? splat<V>(std::numeric_limits<S>::quiet_NaN()) : y;
  y = x == inf ? x : y;
  return x != x ? x : y;
}

template <class V>
V tanh_v(V x) {
  using S = elem_t<V>;
  constexpr bool f32 = sizeof(S) == 4;
  V a = abs_v(x);
  // Near 0: the odd Taylor series (term ratio about 0.405 x^2, so below 1e-9 / 1e-18 relative
  // after the last kept term at the switch point).
  V z = a * a, p;
  if constexpr (f32) {
    p = horner(z, S(-0.001455834387051318268), S(0.003592128036572481017), S(-0.008863235529902196569),
               S(0.02186948853615520282), S(-0.05396825396825396825), S(0.1333333333333333333),
               S(-0.3333333333333333333));
  } else {
    p = horner(z, S(0.00009691537956929450326), S(-0.0002391291142435524815), S(0.000590027440945585981378),
               S(-0.001455834387051318268), S(0.003592128036572481017), S(-0.008863235529902196569),
               S(0.02186948853615520282), S(-0.05396825396825396825), S(0.1333333333333333333),
               S(-0.3333333333333333333));
  }
  V small = a + (a * z) * p;
  // Elsewhere (1 - e) / (1 + e) with e = exp(-2|x|) <= 0.67: no cancellation worth a bit.
  V e = exp_v(S(-2) * a);
  V big = (S(1) - e) / (S(1) + e);
  const S cut = f32 ? S(0.4) : S(0.2);
  V y = a < cut ? small : big;
  // Both branches ran on |x|; tanh is odd, so x's sign bit goes back on (-0 stays -0).
  using U = uvec_t<V>;
  const auto sign = bits_of<S>(1) << (sizeof(S) * 8 - 1);
  y = from_bits<V>(as_bits(y) | (as_bits(x) & U(sign - U{})));
  return x != x ? x : y;
}

template <class V>
V log1p_v(V u) {
  using S = elem_t<V>;
  // log1p(u) = log(w) * u / (w - 1) with w = 1 + u: the rounding of w cancels to first order.
  V w = u + S(1);
  V d = w - S(1);
  V y = log_v(w) * (u / d);
  y = d == S(0) ? u : y;
  return u == std::numeric_limits<S>::infinity() ? u : y;
}

// erf on float32 lanes, within 3 ulps (tests/test_vector_math.py). Below |x| = 1 it is
// x * p(x^2); above, 1 - e^(-x^2) * q(1 / (1 + |x| / 2)), the form whose remainder a low-degree
// polynomial fits (erfc(x) e^(x^2) is smooth and bounded there). Both polynomials were fitted
// by iterated weighted least squares in float64 (relative error 1.2e-9 for p, absolute error
// 5e-11 on erfc for q); past |x| = 4 erf rounds to 1 in float32.
template <class V>
V erf_f32_v(V x) {
  using S = float;
  V a = abs_v(x);
  a = a < S(4) ? a : splat<V>(S(4));
  V u = a * a;
  auto low = a < S(1);
  V small = {}, big = {};
  if (any_lane(low)) {
    V p = horner(u, S(7.853859278839082e-05), S(-0.0008010193123482168), S(0.005188327748328447),
                 S(-0.026853810995817184), S(0.1128358542919159), S(-0.3761262595653534),
                 S(1.1283791065216064));
    small = a * p;
  }
  if (any_lane(!low)) {
    V t = S(1) / (S(1) + S(0.5) * a);
    V q = horner(t, S(0.006651700474321842), S(-0.25408416986465454), S(0.6705427765846252),
                 S(-0.09065338969230652), S(0.40816500782966614), S(0.25707951188087463),
                 S(0.0020736195147037506));
    big = S(1) - exp_v(-u) * q;
  }
  V y = low ? small : big;
  // erf is odd: x's sign bit goes back on (-0 stays -0); NaN stays NaN.
  using U = uvec_t<V>;
  const auto sign = bits_of<S>(1) << 31;
  y = from_bits<V>(as_bits(y) | (as_bits(x) & U(sign - U{})));
  return x != x ? x : y;
}

// x clamped to [lo, hi], NaN passing through (the x86 min and max return their second operand
// when either is NaN). AVX2 gets one instruction per side instead of a compare and a blend;
// AVX-512 compares into mask registers, which costs no more.
template <class V>
V clamp_keep_nan(V x, elem_t<V> lo, elem_t<V> hi) {
#if defined(__AVX__)
  if constexpr (sizeof(V) == 32 && sizeof(elem_t<V>) == 4)
    return (V)_mm256_min_ps((__m256)splat<V>(hi), _mm256_max_ps((__m256)splat<V>(lo), (__m256)x));
#endif
  V y = x < lo ? splat<V>(lo) : x;
  return y > hi ? splat<V>(hi) : y;
}

// x * y - (x * y rounded), exactly: the low half of the product, by one fused multiply-add.
template <class V>
V product_error(V x, V y, V rounded) {
  constexpr bool f32 = sizeof(elem_t<V>) == 4;
#if defined(__AVX512F__)
  if constexpr (f32 && sizeof(V) == 64) return (V)_mm512_fmsub_ps((__m512)x, (__m512)y, (__m512)rounded);
  else
#endif
#if defined(__FMA__)
  if constexpr (f32 && sizeof(V) == 32) return (V)_mm256_fmsub_ps((__m256)x, (__m256)y, (__m256)rounded);
  else
#endif
    static_assert(sizeof(V) == 0, "product_error needs an FMA instruction for this vector type");
}

// The standard normal CDF Phi(x) on float32 lanes, and e^(-x^2/2) alongside (GELU's backward
// needs both). Phi(-|x|) = erfc(|x|/sqrt 2) / 2 = e^(-x^2/2) r(|x|) / 2, where r(|x|) =
// erfcx(|x|/sqrt 2) is smooth, positive and falls like 1/|x|: one rational function N/D of
// degrees 4 and 5 covers every x with no branch, and Phi keeps its relative accuracy deep in the
// lower tail, where 1 + erf(x/sqrt 2) would cancel. Every coefficient is positive, so neither
// Horner chain cancels, and |x| enters exactly (a polynomial in 1/(1 + k|x|) instead carried
// that quotient's rounding, amplified 4x near x = 0). N/D was fitted by iterated linearised
// least squares against 30-digit erfcx on |x|/sqrt 2 in [0, 10.7], coefficients rounded to
// float32 one at a time with the rest refitted: relative error 1.5e-8. x^2 is split exactly
// (hi + lo) so that the exponential's argument carries no rounding; past |x| = 15 Phi is 0 or 1.
template <class V>
V normal_cdf_f32(V x, V& gauss) {
  using S = float;
  // Below |x| = 13 (every lane, nearly always) e^(-x^2/2) is a normal number: no clamp and one
  // scaling; NaN fails the comparison too and stays NaN through that path. Elsewhere |x| is
  // clamped to 15 and the exponential takes its general path.
  V xc = x;
  V half = xc * S(-0.5);  // exact
  V arg = half * xc;
  const bool normal = !any_lane(arg < -exp_fast_limit<S>());
  if (!normal) {
    xc = clamp_keep_nan(x, S(-15), S(15));
    half = xc * S(-0.5);
    arg = half * xc;
  }
  // -x^2/2 = arg + arg_lo exactly.
  gauss = exp_reduced<true>(arg, normal, product_error(half, xc, arg));
  V a = abs_v(xc);
  // N / 2 (the halving exact) and D.
  V half_num = horner(a, S(0.008262814953923225 / 2), S(0.08149796724319458 / 2), S(0.3671988844871521 / 2),
                      S(0.8776386976242065 / 2), S(0.5));
  V den = horner(a, S(0.01035579014569521), S(0.10214872658252716), S(0.4704260528087616), S(1.2040690183639526),
                 S(1.6755235195159912), S(1));
  V lower = gauss * half_num / den;
  return x < S(0) ? lower : S(1) - lower;
}

}  // namespace detail

/// Picks a where mask holds, else b (lanewise for vectors; both sides are evaluated).
template <class M, class V>
V select(M mask, V a, V b) {
  return mask ? a : b;
}

template <class V>
V splat(elem_t<V> s) {
  if constexpr (is_vec_v<V>)
    return detail::splat<V>(s);
  else
    return s;
}

template <class V>
V abs(V x) {
  if constexpr (is_vec_v<V>)
    return detail::abs_v(x);
  else
    return std::abs(x);
}

template <class V>
V exp(V x) {
  if constexpr (is_vec_v<V>)
    return detail::exp_v(x);
  else
    return std::exp(x);
}

template <class V>
V log(V x) {
  if constexpr (is_vec_v<V>)
    return detail::log_v(x);
  else
    return std::log(x);
}

template <class V>
V log1p(V x) {
  if constexpr (is_vec_v<V>)
    return detail::log1p_v(x);
  else
    return std::log1p(x);
}

template <class V>
V tanh(V x) {
  if constexpr (is_vec_v<V>)
    return detail::tanh_v(x);
  else
    return std::tanh(x);
}

/// erf. float32 lanes run the approximation of detail::erf_f32_v; float64 lanes (rare: GELU in
/// double) go through the C library one by one.
template <class V>
V erf(V x) {
  if constexpr (is_vec_v<V>) {
    if constexpr (sizeof(elem_t<V>) == 4) {
      return detail::erf_f32_v(x);
    } else {
      V y;
      for (int i = 0; i < int(sizeof(V) / sizeof(elem_t<V>)); ++i) y[i] = std::erf(x[i]);
      return y;
    }
  } else {
    return std::erf(x);
  }
}

/// 1 / (1 + exp(-x)) without overflow: exp only ever sees -|x|, and for x < 0 the result is
/// e^x / (1 + e^x), which keeps its relative accuracy down to the denormals.
template <class V>
V sigmoid(V x) {
  using S = elem_t<V>;
  if constexpr (is_vec_v<V>) {
    // Where e^-x is a normal number in every lane, 1 / (1 + e^-x) loses nothing: its relative
    // error is at most e^-x's plus the two roundings.
    if (!detail::any_lane(detail::abs_v(x) > detail::exp_fast_limit<S>()))
      return S(1) / (S(1) + detail::exp_reduced(-x, true));
  }
  V z = vm::exp(splat<V>(S(0)) - vm::abs(x));
  V r = S(1) / (S(1) + z);
  return select(x >= S(0), r, z * r);
}

}  // namespace backprop::kernels::vm
