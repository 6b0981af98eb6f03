/* sanitizer.h - BV_ASAN is defined when built with AddressSanitizer (gcc or clang).
 * Code that confines itself needs to know: ASan's runtime makes syscalls of its own.
 * Nothing else may depend on it. */
#ifndef BV_CORE_SANITIZER_H
#define BV_CORE_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define BV_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BV_ASAN 1
#endif
#endif

#endif
