package pop

import (
	"context"
	"errors"
	"math"
)

// Listing is what ListAll learns of the mailbox.
type Listing struct {
	Count int           // messages, as STAT said
	Size  int64         // their total size in octets, as STAT said
	Sizes []MessageInfo // as List returns them
	UIDs  []UIDEntry    // as UIDL returns them; nil when UIDLErr is set
	// UIDLErr is the server's -ERR to UIDL (an *Error: a server without UIDL); the rest of the
	// listing is still good.
	UIDLErr error
}

// ListAll runs STAT, LIST and UIDL. When the server offers PIPELINING the three commands go
// out together and the replies are read in order, so a check of the mailbox costs one round trip
// instead of three; otherwise they run one after the other. LIST and UIDL replies are bounded by
// the STAT count as in List. A -ERR to STAT or LIST is returned as an *Error after the other
// replies have been read, so the session stays usable.
func (c *Client) ListAll(ctx context.Context) (Listing, error) {
	if !c.caps.Pipelining {
		return c.listAllInTurn(ctx)
	}
	if err := c.begin(ctx); err != nil {
		return Listing{}, err
	}
	defer c.end()
	for _, cmd := range []string{"STAT", "LIST", "UIDL"} {
		c.trace("C: " + cmd)
		c.w.WriteString(cmd + "\r\n")
	}
	if err := c.w.Flush(); err != nil {
		return Listing{}, c.ioErr("sending STAT", err)
	}
	var l Listing
	s, statErr := c.readStatus("STAT")
	if statErr != nil && !isErrReply(statErr) {
		return Listing{}, statErr
	}
	if statErr == nil {
		if l.Count, l.Size, statErr = c.parseStat(s); statErr != nil {
			c.fail(statErr) // the replies that follow cannot be bounded
			return Listing{}, statErr
		}
	}
	sizes, listErr := c.readListing("LIST")
	if listErr != nil && !isErrReply(listErr) {
		return Listing{}, listErr
	}
	uids, uidlErr := c.readListing("UIDL")
	if uidlErr != nil && !isErrReply(uidlErr) {
		return Listing{}, uidlErr
	}
	if err := errors.Join(statErr, listErr); err != nil {
		return Listing{}, err
	}
	if l.Sizes, listErr = parseLines(sizes, parseListLine); listErr != nil {
		return Listing{}, listErr
	}
	if uidlErr != nil {
		l.UIDLErr = uidlErr
		return l, nil
	}
	l.UIDs, uidlErr = parseLines(uids, parseUIDLLine)
	return l, uidlErr
}

// listAllInTurn is ListAll for a server without PIPELINING.
func (c *Client) listAllInTurn(ctx context.Context) (Listing, error) {
	var l Listing
	var err error
	if l.Count, l.Size, err = c.Stat(ctx); err != nil {
		return Listing{}, err
	}
	if l.Sizes, err = c.List(ctx); err != nil {
		return Listing{}, err
	}
	l.UIDs, err = c.UIDL(ctx)
	if isErrReply(err) {
		l.UIDs, l.UIDLErr, err = nil, err, nil
	}
	return l, err
}

// readListing reads the status and, after +OK, the lines of a LIST or UIDL reply already
// requested, bounded by the STAT count. A -ERR comes back as an *Error.
func (c *Client) readListing(cmd string) ([]string, error) {
	if _, err := c.readStatus(cmd); err != nil {
		return nil, err
	}
	if c.count < 0 {
		err := errors.New("pop: " + cmd + " reply before a STAT count")
		c.fail(err)
		return nil, err
	}
	n := min(c.count, math.MaxInt/2) + listSlack
	return c.readLines(cmd, replyLimit{lines: n, bytes: math.MaxInt, why: listWhy(c.count)})
}

// parseLines parses each line with parse.
func parseLines[T any](lines []string, parse func(string) (T, error)) ([]T, error) {
	out := make([]T, 0, len(lines))
	for _, l := range lines {
		v, err := parse(l)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
