// FUZZ_CHECK: the invariant assertion of the fuzz targets in tests/fuzz. A failed check prints
// what was expected and aborts, which libFuzzer reports as a crash (and saves the input) and the
// g++ corpus replay reports as a failed test. Active in every build type (unlike assert()).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(cond, what)                                                               \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n  %s\n", __FILE__, __LINE__, #cond, \
                   std::string(what).c_str());                                               \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)
