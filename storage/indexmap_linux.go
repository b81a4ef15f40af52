package storage

import (
	"fmt"
	"io"
	"math"
	"os"

	"golang.org/x/sys/unix"

	"github.com/poplar-mail/poplar/storage/internal/mmapfile"
)

// localFileSystems are the file systems readIndexFile maps index files on: local ones, where a
// mapped file that another program replaces by a rename stays readable. On a network file system
// another machine's rename can leave the mapping stale, and a read of it would crash the process.
var localFileSystems = map[int64]bool{
	unix.EXT4_SUPER_MAGIC:      true, // also ext2 and ext3
	unix.BTRFS_SUPER_MAGIC:     true,
	unix.XFS_SUPER_MAGIC:       true,
	unix.TMPFS_MAGIC:           true,
	unix.F2FS_SUPER_MAGIC:      true,
	0x2fc12fc1:                 true, // ZFS
	0xca451a4e:                 true, // bcachefs
	unix.OVERLAYFS_SUPER_MAGIC: true,
}

// readIndexFile returns the bytes of the index file at path. On a local file system they are
// mapped read-only into memory, so that the strings of a loaded folder point into the page cache
// instead of the Go heap: pages not in use can be given back (releasePages) and are read again
// from the page cache when a string is next used. Elsewhere (a network file system, an empty
// file) they are read into the heap and mapped is false.
//
// A mapping is never removed: the decoded summaries, and every string copied from them, point
// into it for as long as the process may hold them. The index file is only ever replaced by a
// rename, never changed in place, so the mapped bytes never change; the space of a file replaced
// while mapped is freed on disk when the process exits. A folder's file is mapped once per Store
// (readIndex runs when the Store first loads the folder), so the mappings stay few.
func readIndexFile(path string) (data []byte, mapped bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	var fs unix.Statfs_t
	if fi.Size() == 0 || fi.Size() > math.MaxInt32 || unix.Fstatfs(int(f.Fd()), &fs) != nil || !localFileSystems[int64(fs.Type)] {
		data := make([]byte, fi.Size())
		_, err := io.ReadFull(f, data)
		return data, false, err
	}
	data, err = mmapfile.Map(f, fi.Size())
	if err != nil {
		return nil, false, fmt.Errorf("storage: mapping %s: %w", path, err)
	}
	return data, true, nil
}

// unmapIndexFile removes a mapping of readIndexFile that nothing points into (its index failed
// to decode).
func unmapIndexFile(data []byte) { mmapfile.Unmap(data) }

// releasePages gives the resident pages of a mapping of readIndexFile back to the system; the
// bytes stay readable and come back from the page cache (or the file) when next read.
func releasePages(data []byte) { mmapfile.Release(data) }
