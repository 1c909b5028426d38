// posix-check's close-from-another-thread checks (close_checks.cpp).
#pragma once

#include "cancel_checks.hpp"

// close() of an fd another thread is blocked on frees nothing that call uses:
// the call keeps its socket and ends as on Linux (data through a dup, a
// timeout); shutdown() wakes it. Run on the kernel and on lstack alike.
void close_checks(const char* peer, const char* local, int echo_port, const Check& check);
