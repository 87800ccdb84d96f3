#pragma once
// Run-time choice of the wider vector loops on the request path. The build
// targets baseline x86-64 (SSE2); where the CPU has AVX2, the scoring loops of
// knn and the networks' first layer run 8 floats per instruction instead of 4.
// Both variants do the same multiplies and adds per element in the same order
// (no FMA: the build is ISO C++, which turns off contraction), so they give
// bit-identical results; tests check that by forcing the baseline loops.
namespace switchyard::learned {

// True when the AVX2 loops may run: the CPU supports AVX2 and the baseline
// loops are not forced.
bool use_avx2();
// For tests: true makes use_avx2() false until called again with false.
void force_baseline_simd(bool on);

}  // namespace switchyard::learned
