// posix-check's thread-cancellation checks (cancel_checks.cpp).
#pragma once

#include <functional>
#include <string>

using Check = std::function<void(bool ok, const std::string& what)>;

// Threads blocked in recv, read, recvmsg, accept, poll, select, epoll_wait,
// connect and send are cancelled: each must unwind, run its cleanup handler and join.
void cancel_checks(const char* peer, const char* local, int echo_port, const Check& check);
// Leaves a thread blocked in recv on a connection to the echo server: the
// process then returns from main() and must exit at once.
void leave_thread_blocked(const char* peer, int echo_port);
