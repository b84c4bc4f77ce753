#ifndef UPGRADE_GATE_CCURL_SHIM_H
#define UPGRADE_GATE_CCURL_SHIM_H

// Swift cannot call C variadic functions, so each curl_easy_setopt/getinfo use gets a typed,
// non-variadic wrapper here. Keep one wrapper per argument type, not one per option.
#include <curl/curl.h>

typedef size_t (*gate_curl_write_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*gate_curl_xferinfo_cb)(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
                                     curl_off_t ultotal, curl_off_t ulnow);

static inline CURLcode gate_curl_setopt_long(CURL *h, CURLoption opt, long value) {
    return curl_easy_setopt(h, opt, value);
}
static inline CURLcode gate_curl_setopt_off(CURL *h, CURLoption opt, curl_off_t value) {
    return curl_easy_setopt(h, opt, value);
}
static inline CURLcode gate_curl_setopt_string(CURL *h, CURLoption opt, const char *value) {
    return curl_easy_setopt(h, opt, value);
}
static inline CURLcode gate_curl_setopt_pointer(CURL *h, CURLoption opt, void *value) {
    return curl_easy_setopt(h, opt, value);
}
static inline CURLcode gate_curl_setopt_slist(CURL *h, CURLoption opt, struct curl_slist *value) {
    return curl_easy_setopt(h, opt, value);
}
static inline CURLcode gate_curl_setopt_write_function(CURL *h, CURLoption opt, gate_curl_write_cb cb) {
    return curl_easy_setopt(h, opt, cb);
}
static inline CURLcode gate_curl_setopt_xferinfo_function(CURL *h, gate_curl_xferinfo_cb cb) {
    return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cb);
}
static inline CURLcode gate_curl_getinfo_long(CURL *h, CURLINFO info, long *out) {
    return curl_easy_getinfo(h, info, out);
}
static inline CURLcode gate_curl_getinfo_off(CURL *h, CURLINFO info, curl_off_t *out) {
    return curl_easy_getinfo(h, info, out);
}
static inline CURLcode gate_curl_getinfo_double(CURL *h, CURLINFO info, double *out) {
    return curl_easy_getinfo(h, info, out);
}

#endif
