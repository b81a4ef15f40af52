package storage

import (
	"errors"
	"slices"
	"strings"
	"sync"
)

// A Listing is messages of one or more folders as they were when it was made: a folder newest
// first (Store.Listing), or the hits of a search in its order (Store.ListingOf). It holds each
// message's place in its folder's index file, not its summary, and decodes a summary when asked:
// a list of 100,000 messages holds 1 MB of its own instead of 25 MB of summaries, and reads the
// summaries of the rows it shows. A Listing never changes and may be read from any goroutine;
// make a new one to see changes.
type Listing struct {
	folders []listed // the folders the messages are in
	in      []uint16 // the folder of each message, by its number in folders (nil: the first)
	es      []*entry // shared with the folders, which never change an entry

	keysOnce sync.Once
	byKey    []int32 // the numbers of es in the order of their keys (Index)
}

// listed is a folder of a Listing: its name and its index file as it was read, which the records
// of its entries without a summary of their own are in.
type listed struct {
	name string
	data []byte
}

// Listing returns the messages of a folder, newest first (the order of Summaries). It picks up
// changes made by other programs, as Summaries does.
func (s *Store) Listing(folderName string) (*Listing, error) {
	f, err := s.folder(folderName)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	l := &Listing{folders: []listed{{f.name, f.data}}, es: f.sorted[:len(f.sorted):len(f.sorted)]}
	f.mu.Unlock()
	l.keysOnce.Do(l.sortKeys) // now, on the caller's goroutine, rather than at the first Index
	return l, nil
}

// Hit names a message: its folder and key.
type Hit struct{ Folder, Key string }

// ListingOf returns a Listing of the messages hits, in their order, leaving out those no longer
// there (or whose folder is gone). It loads their folders, as Summaries does; listing 100,000
// hits of a loaded folder costs a walk along its order, not a summary each.
func (s *Store) ListingOf(hits []Hit) (*Listing, error) {
	l := &Listing{es: make([]*entry, 0, len(hits))}
	in := make([]uint16, len(hits)) // each hit's folder, by its number in l.folders
	at := map[string]uint16{}       // the same by name
	var keys [][]string             // the keys asked for in each folder, in the hits' order
	for i, h := range hits {
		if i > 0 && h.Folder == hits[i-1].Folder { // hits come in runs of one folder
			in[i] = in[i-1]
		} else if n, ok := at[h.Folder]; ok {
			in[i] = n
		} else {
			if len(l.folders) == 1<<16 {
				return nil, errors.New("storage: a listing of more than 65,536 folders")
			}
			in[i] = uint16(len(l.folders))
			at[h.Folder] = in[i]
			l.folders = append(l.folders, listed{name: h.Folder})
			keys = append(keys, nil)
		}
		keys[in[i]] = append(keys[in[i]], h.Key)
	}
	found := make([][]*entry, len(l.folders))
	for n := range l.folders {
		f, err := s.folder(l.folders[n].name)
		if errors.Is(err, ErrNoFolder) {
			continue // gone: so are its hits
		}
		if err != nil {
			return nil, err
		}
		f.mu.Lock()
		l.folders[n] = listed{f.name, f.data}
		found[n] = f.entriesOf(keys[n])
		f.mu.Unlock()
	}
	next := make([]int, len(l.folders)) // each folder's next found entry
	for i, n := range in {
		if found[n] == nil {
			continue
		}
		e := found[n][next[n]]
		next[n]++
		if e == nil {
			continue
		}
		l.es = append(l.es, e)
		if len(l.folders) > 1 {
			l.in = append(l.in, in[i])
		}
	}
	return l, nil
}

// entriesOf returns the entries of keys, in their order (nil for a key the folder lacks): by the
// map for a few keys, which are far apart in the folder's order; for many, by a walk along it
// (find), as a search's hits come newest first. f.mu is held.
func (f *folder) entriesOf(keys []string) []*entry {
	es := make([]*entry, len(keys))
	if len(keys) < len(f.sorted)/walkShare {
		for i, k := range keys {
			es[i] = f.byKey[k]
		}
		return es
	}
	next := 0 // where in f.sorted the next key is looked for first
	for i, k := range keys {
		es[i] = f.find(k, &next)
	}
	return es
}

// sortKeys makes byKey: 400 KB at 100,000 messages instead of the 3 MB of a map.
func (l *Listing) sortKeys() {
	l.byKey = make([]int32, len(l.es))
	for i := range l.byKey {
		l.byKey[i] = int32(i)
	}
	slices.SortFunc(l.byKey, func(a, b int32) int { return strings.Compare(l.es[a].key(), l.es[b].key()) })
}

// Index returns the number of the message key, and whether the Listing holds it. The first call
// on a Listing of hits sorts their keys (about 40 ms at 100,000).
func (l *Listing) Index(key string) (int, bool) {
	l.keysOnce.Do(l.sortKeys)
	j, ok := slices.BinarySearchFunc(l.byKey, key, func(i int32, k string) int { return strings.Compare(l.es[i].key(), k) })
	if !ok {
		return -1, false
	}
	return int(l.byKey[j]), true
}

// Len returns the number of messages.
func (l *Listing) Len() int { return len(l.es) }

// Key returns the key of message i.
func (l *Listing) Key(i int) string { return l.es[i].key() }

// Flags returns the flags of message i.
func (l *Listing) Flags(i int) Flags { return l.es[i].flags }

// folder returns the folder of message i.
func (l *Listing) folder(i int) *listed {
	if l.in == nil {
		return &l.folders[0]
	}
	return &l.folders[l.in[i]]
}

// Summary returns the summary of message i, decoded from its folder's index file (about a
// microsecond) or, for a message that arrived since it was read, copied.
func (l *Listing) Summary(i int) Summary {
	f := l.folder(i)
	return decodeSummary(&recordDecoder{}, f.data, f.name, l.es[i])
}

// Summaries returns the summaries of every message, in order, decoded on every core: for a sort
// by another column or a grouping by conversation, which need them all for a moment.
func (l *Listing) Summaries() []Summary {
	return decodeSummaries(len(l.es), func(i int) (*listed, *entry) { return l.folder(i), l.es[i] })
}
