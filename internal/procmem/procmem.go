// Package procmem reads how much of a file mapped into this process's memory is resident, from
// Linux's /proc/self/smaps: what tests of memory given back to the system (storage's index files,
// search's segments) check.
package procmem

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// MappedRSS returns the resident kibibytes of this process's mappings of the file at path (also
// when the file was since removed or replaced, which smaps marks " (deleted)"), and how many such
// mappings there are.
func MappedRSS(path string) (kib int64, mappings int, err error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, 0, fmt.Errorf("procmem: %w", err)
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			// A mapping's first line: range, permissions, offset, device, inode, path.
			name := ""
			if i := strings.Index(line, "/"); i >= 0 && len(fields) >= 6 {
				name = strings.TrimSuffix(line[i:], " (deleted)")
			}
			in = name == path
			if in {
				mappings++
			}
			continue
		}
		if v, ok := strings.CutPrefix(line, "Rss:"); ok && in {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("procmem: smaps line %q: %w", line, err)
			}
			kib += n
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, fmt.Errorf("procmem: %w", err)
	}
	return kib, mappings, nil
}
