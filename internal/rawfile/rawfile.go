// Package rawfile reads small files without an *os.File.
//
// On Linux, os.Open registers every file with the runtime's network poller
// (epoll_create, eventfd, epoll_ctl and four fcntl calls, plus the poller's
// code pages) even for a regular file, where the registration then fails.
// The cache-hit and "not my host" paths read only a few small files, and on
// them that set-up was the largest single cost after process start.
package rawfile

// maxSize bounds what ReadFile reads: config and cache entries are small,
// and a huge file in their place is a mistake, not data.
const maxSize = 16 << 20
