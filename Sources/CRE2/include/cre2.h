// A small C interface to RE2, so that Swift can use it without C++ interoperability.
//
// Only what label matchers need: compile a pattern once, ask whether a whole text matches, free it.
#ifndef CRE2_H
#define CRE2_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#pragma clang assume_nonnull begin

/// One compiled RE2 program. Immutable once compiled: RE2 synchronises its lazily built
/// automata internally, so one program may be matched from many threads at once.
typedef struct cre2_program cre2_program;

/// Compiles `length` bytes of UTF-8 `pattern` (NULL when `length` is 0) with options as close to Go's `regexp` as RE2 allows
/// (Perl classes and flags, `.` not matching a newline, no capturing, errors not logged).
///
/// Returns NULL when the pattern is invalid, unsupported or too large, after writing RE2's reason,
/// NUL-terminated and cut to `error_capacity` bytes, into `error`. Never throws.
cre2_program *_Nullable cre2_compile(const char *_Nullable pattern, size_t length, char *error, size_t error_capacity);

/// Returns 1 when the whole of `length` bytes of UTF-8 `text` matches `program` (anchored at both
/// ends), 0 when it does not, -1 when RE2 failed (out of memory). Time is linear in `length`.
/// `text` may be NULL when `length` is 0.
int cre2_full_match(const cre2_program *program, const char *_Nullable text, size_t length);

/// Frees a program returned by `cre2_compile`; nothing may use it afterwards.
void cre2_free(cre2_program *program);

#pragma clang assume_nonnull end

#ifdef __cplusplus
}
#endif

#endif
