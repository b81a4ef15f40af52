// Package mmapfile maps files read-only into memory, for the two kinds of file storage reads that
// way: a folder's summary index (storage) and the search index's segments (storage/search). It is
// the one place for the system calls of both, on Unix and on Windows.
package mmapfile
