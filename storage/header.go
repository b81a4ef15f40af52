package storage

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Poplar's own lines. A message Poplar stores starts with the lines it writes itself, in this
// order, each present or not:
//
//	X-Poplar-UIDL: <escaped UIDL>   line 1, when the message came from a server with UIDLs
//	X-Poplar-Partial: yes; size=N   next, when only the header was downloaded; N is the
//	                                message's size on the server in octets (as LIST said)
//
// The "; size=N" parameter is left out when the size is not known; stores written before it
// existed have a plain "yes", which still marks the message partial, with its size unknown.
// They are header fields, so every mail reader shows them as such. Only these leading lines
// count (ownFields): a field of the same name further down is the sender's, and delivery renames
// every X-Poplar-* field of the message's own header (neutralReader) so that it cannot be taken
// for Poplar's, whatever line it is on. Stores written before this rule have the same layout.
const (
	uidlField    = "X-Poplar-UIDL:"
	partialField = "X-Poplar-Partial:"
	sizeParam    = "size="
)

// maxServerSize is the largest server size the store records (1 TiB): a larger or negative
// size, in DeliverInfo or read from a file, counts as unknown.
const maxServerSize = 1 << 40

// maxServerSizeDigits is the number of decimal digits of maxServerSize.
const maxServerSizeDigits = 13

// ownInfo is what Poplar's own lines say of a stored message.
type ownInfo struct {
	uidl       string // "" when there is no (usable) X-Poplar-UIDL line
	partial    bool   // only the header was downloaded
	serverSize int64  // size on the server, 1 to maxServerSize; 0 when unknown or not partial
}

// MaxUIDL is the longest UIDL, in bytes, that the store keeps as it is. RFC 1939 allows 70
// characters, but real servers send longer ones; StorableUIDL maps any other to a short stable id.
const MaxUIDL = 512

// hashedUIDLPrefix starts the id StorableUIDL derives from a UIDL that cannot be stored as it is.
const hashedUIDLPrefix = "poplar-sha256:"

// validUIDL reports why u cannot be stored as it is, or nil: it must have 1 to MaxUIDL bytes and
// no CR, LF or NUL.
func validUIDL(u string) error {
	if u == "" || len(u) > MaxUIDL || strings.ContainsAny(u, "\r\n\x00") {
		return fmt.Errorf("storage: unusable UIDL %q", u)
	}
	return nil
}

// StorableUIDL returns the id under which the store keeps the server message with UIDL uid: uid
// itself when it has 1 to MaxUIDL bytes and no CR, LF or NUL (hashed is false), else
// "poplar-sha256:" and the hex SHA-256 of uid (hashed is true), which is the same for the same
// uid on every run. Map every server UIDL through it before Deliver, the ledger and the partial
// set see it. It does no I/O.
func StorableUIDL(uid string) (stored string, hashed bool) {
	if validUIDL(uid) == nil {
		return uid, false
	}
	sum := sha256.Sum256([]byte(uid))
	return hashedUIDLPrefix + hex.EncodeToString(sum[:]), true
}

// ownLines returns the lines Poplar writes in front of a message (see uidlField) to say o. The
// size goes only with the partial mark, and only when it is 1 to maxServerSize.
func ownLines(o ownInfo) []byte {
	var b []byte
	if o.uidl != "" {
		b = append(b, uidlField+" "+escapeUIDL(o.uidl)+"\n"...)
	}
	if o.partial {
		b = append(b, partialField+" yes"...)
		if validServerSize(o.serverSize) {
			b = append(b, "; "+sizeParam...)
			b = strconv.AppendInt(b, o.serverSize, 10)
		}
		b = append(b, '\n')
	}
	return b
}

// validServerSize reports whether n can be recorded as a server size.
func validServerSize(n int64) bool { return n > 0 && n <= maxServerSize }

// ownFields reads Poplar's own lines at the start of a stored message, head (its first bytes):
// the UIDL from line 1 when that is an X-Poplar-UIDL field, and the partial mark and server size
// from the line after it (or from line 1 when there is no UIDL line). Nothing else in the file is
// looked at. It is the one rule for delivery, the index, the ledger's reconciliation and its
// rebuild. It never fails: a value it cannot read counts as absent (a size as unknown).
func ownFields(head []byte) ownInfo {
	var o ownInfo
	line, rest := cutLine(head)
	if v, ok := bytes.CutPrefix(line, []byte(uidlField)); ok {
		if u, err := unescapeUIDL(string(bytes.Trim(v, " \t"))); err == nil && validUIDL(u) == nil {
			o.uidl = u
		}
		line, _ = cutLine(rest)
	}
	if v, ok := bytes.CutPrefix(line, []byte(partialField)); ok {
		o.partial, o.serverSize = parsePartial(v)
	}
	return o
}

// parsePartial reads the value of Poplar's X-Poplar-Partial line: "yes" (any case), then
// optional ";"-separated parameters, of which the first "size=" (any case) gives the server size
// in decimal digits. Other parameters are skipped; a size that is not 1 to maxServerSize in plain
// digits is unknown (0).
func parsePartial(v []byte) (partial bool, size int64) {
	mark, params, _ := bytes.Cut(v, []byte(";"))
	if !bytes.EqualFold(bytes.Trim(mark, " \t"), []byte("yes")) {
		return false, 0
	}
	for len(params) > 0 {
		var p []byte
		p, params, _ = bytes.Cut(params, []byte(";"))
		p = bytes.Trim(p, " \t")
		if len(p) < len(sizeParam) || !bytes.EqualFold(p[:len(sizeParam)], []byte(sizeParam)) {
			continue
		}
		return true, parseSize(p[len(sizeParam):])
	}
	return true, 0
}

// parseSize reads a server size in decimal digits, 0 when it is anything else or out of range.
func parseSize(d []byte) int64 {
	if len(d) == 0 || len(d) > maxServerSizeDigits {
		return 0
	}
	var n int64
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int64(c-'0')
	}
	if !validServerSize(n) {
		return 0
	}
	return n
}

// cutLine splits b after its first line, dropping the line's LF or CRLF.
func cutLine(b []byte) (line, rest []byte) {
	line, rest, _ = bytes.Cut(b, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), rest
}

// reservedPrefix starts the names of the header fields Poplar keeps for itself; neutralReader
// renames a message's own fields of that name to originalPrefix + the name without its "X-".
const (
	reservedPrefix = "x-poplar-"
	originalPrefix = "X-Original-"
)

var reservedPrefixBytes = []byte(reservedPrefix)

// neutralReader passes a message through unchanged but for the header fields of its own header
// whose name starts with X-Poplar- (any case): "X-Poplar-UIDL: 1" becomes
// "X-Original-Poplar-UIDL: 1", still there in the message source but never read as Poplar's.
// Only the header, up to the first empty line, is scanned, line by line through a small buffer;
// after it every Read goes straight to the underlying reader. Continuation lines (which start
// with white space) are never renamed. A neutralReader is reused with reset.
type neutralReader struct {
	br        *bufio.Reader
	r         io.Reader
	body      bool   // the header is over: pass everything through
	lineStart bool   // the next byte starts a line
	prefix    string // output before pend (the new name's start)
	pend      []byte // the rest of the current line, not yet returned (aliases br's buffer)
	err       error  // from the underlying reader, returned once pend is empty
}

// neutralBuffer is the size of neutralReader's line buffer; longer lines are passed in pieces.
const neutralBuffer = 4 << 10

func (n *neutralReader) reset(r io.Reader) {
	if n.br == nil {
		n.br = bufio.NewReaderSize(r, neutralBuffer)
	} else {
		n.br.Reset(r)
	}
	*n = neutralReader{br: n.br, r: r, lineStart: true}
}

func (n *neutralReader) Read(p []byte) (int, error) {
	done := 0
	for len(p) > 0 {
		if n.prefix != "" || len(n.pend) > 0 {
			c := copy(p, n.prefix)
			n.prefix = n.prefix[c:]
			c2 := copy(p[c:], n.pend)
			n.pend = n.pend[c2:]
			p = p[c+c2:]
			done += c + c2
			continue
		}
		if n.err != nil {
			if done > 0 {
				return done, nil
			}
			return 0, n.err
		}
		if n.body {
			if done > 0 {
				return done, nil
			}
			if n.br.Buffered() > 0 {
				return n.br.Read(p)
			}
			return n.r.Read(p)
		}
		if done > 0 && n.br.Buffered() == 0 {
			return done, nil // do not wait for more input with data in hand
		}
		line, err := n.br.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			n.err = err
		}
		if n.lineStart {
			switch {
			case len(line) == 1 && line[0] == '\n', len(line) == 2 && line[0] == '\r' && line[1] == '\n':
				n.body = true
			case len(line) >= len(reservedPrefix) && bytes.EqualFold(line[:len(reservedPrefix)], reservedPrefixBytes):
				n.prefix, line = originalPrefix, line[2:]
			}
		}
		n.lineStart = len(line) > 0 && line[len(line)-1] == '\n'
		n.pend = line
	}
	return done, nil
}
