// RE2 behind a C interface. No C++ exception may cross into Swift, so every entry point catches.
#include "cre2.h"

#include <re2/re2.h>

#include <cstring>
#include <new>
#include <string>

struct cre2_program {
    re2::RE2 regex;

    cre2_program(const char *pattern, size_t length, const re2::RE2::Options &options)
        : regex(re2::StringPiece(pattern, length), options) {}
};

namespace {

// Each program may use at most this much memory for its compiled form and its lazily built DFAs.
// Past the budget RE2 rejects the pattern at compile time ("pattern too large") or, while matching,
// falls back from the DFA to its NFA simulation, which is slower but still linear in the input.
constexpr int64_t kMaxMemoryPerProgram = 2 << 20;

void copyError(const std::string &message, char *error, size_t capacity) {
    if (capacity == 0) return;
    size_t count = message.size() < capacity - 1 ? message.size() : capacity - 1;
    std::memcpy(error, message.data(), count);
    error[count] = '\0';
}

}  // namespace

extern "C" cre2_program *cre2_compile(const char *pattern, size_t length, char *error, size_t error_capacity) {
    try {
        re2::RE2::Options options;
        // The defaults already follow Go's regexp/syntax Perl mode: UTF-8, Perl classes (\d, \w, \s),
        // \b and \B, non-greedy repeats and flags such as (?i) and (?s); `.` does not match a newline
        // and `^`/`$` match at the ends of the text only, unless (?s) or (?m) say otherwise.
        options.set_log_errors(false);
        // Matchers only ask "does it match": no submatches, so groups need not capture.
        options.set_never_capture(true);
        options.set_max_mem(kMaxMemoryPerProgram);
        cre2_program *program = new (std::nothrow) cre2_program(pattern, length, options);
        if (program == nullptr) {
            copyError("out of memory", error, error_capacity);
            return nullptr;
        }
        if (!program->regex.ok()) {
            copyError(program->regex.error(), error, error_capacity);
            delete program;
            return nullptr;
        }
        return program;
    } catch (...) {
        copyError("out of memory", error, error_capacity);
        return nullptr;
    }
}

extern "C" int cre2_full_match(const cre2_program *program, const char *text, size_t length) {
    try {
        return re2::RE2::FullMatch(re2::StringPiece(text, length), program->regex) ? 1 : 0;
    } catch (...) {
        // RE2 does not throw while matching; should an allocation fail anyway, say so.
        return -1;
    }
}

extern "C" void cre2_free(cre2_program *program) { delete program; }
