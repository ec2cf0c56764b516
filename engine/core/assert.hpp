// STRAIN_ASSERT: invariant checks, active in dev and sanitizer builds, free in release.
#pragma once

#include <cstdio>
#include <cstdlib>

#if defined(STRAIN_ASSERTS) && STRAIN_ASSERTS
#define STRAIN_ASSERT(cond)                                                             \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (0)
#else
#define STRAIN_ASSERT(cond) ((void)0)
#endif
