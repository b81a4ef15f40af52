package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/poplar-mail/poplar/account"
	"github.com/poplar-mail/poplar/storage"
)

// runFilter manages an account's filters and runs them on a folder: list, add, remove, run.
func runFilter(ctx context.Context, e *Env, g Globals, args []string) int {
	usage := func() int {
		fmt.Fprintln(e.Stderr, `Usage:
  poplar filter list [--account NAME] [--json]
  poplar filter add [--account NAME] --name N [--any] --if FIELD:OP:VALUE... --then ACTION[:FOLDER]...
      FIELD:OP  from|to|cc|tocc|subject|body : contains|not-contains|equals
                size : greater|less (VALUE 500, 100K, 2M)     attachment : is (VALUE true|false)
      ACTION    move:FOLDER | mark-read | flag | trash | stop
  poplar filter remove [--account NAME] NAME
  poplar filter run [--account NAME] [--folder Inbox] [--filter NAME] [--test]`)
		return 2
	}
	if len(args) == 0 {
		return usage()
	}
	switch args[0] {
	case "list":
		return filterList(e, g, args[1:])
	case "add":
		return filterAdd(e, g, args[1:])
	case "remove", "rm":
		return filterRemove(e, g, args[1:])
	case "run":
		return filterRun(e, g, args[1:])
	}
	return usage()
}

// stringList is a flag that may be given several times.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// filterSetup parses the flags of a filter subcommand, which takes nargs arguments besides them,
// and loads the settings; it returns the exit status to end with (> 0) when it fails.
func filterSetup(e *Env, g *Globals, sub string, nargs int, args []string, define func(fs *flag.FlagSet)) (fs *flag.FlagSet, cfg *account.Config, name *string, code int) {
	fs = flag.NewFlagSet("poplar filter "+sub, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	g.flags(fs)
	name = fs.String("account", "", "the account (default: the only one)")
	define(fs)
	if err := parseFlags(fs, args); err != nil {
		return nil, nil, nil, 2
	}
	switch {
	case fs.NArg() > nargs && nargs == 0:
		fmt.Fprintf(e.Stderr, "poplar filter %s: unexpected argument %q\n", sub, fs.Arg(0))
		return nil, nil, nil, 2
	case fs.NArg() != nargs:
		fmt.Fprintf(e.Stderr, "poplar filter %s: give the filter's NAME\n", sub)
		return nil, nil, nil, 2
	}
	if err := g.resolve(e.Getenv); err != nil {
		fmt.Fprintf(e.Stderr, "poplar filter %s: %v\n", sub, err)
		return nil, nil, nil, 1
	}
	cfg, err := account.LoadConfig(g.ConfigDir)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar filter %s: %v\n", sub, err)
		return nil, nil, nil, 1
	}
	return fs, cfg, name, 0
}

// filterAccount returns the account called name, or the only one when name is "".
func filterAccount(e *Env, cfg *account.Config, sub, name string) (*account.Account, bool) {
	if name == "" {
		if len(cfg.Accounts) != 1 {
			fmt.Fprintf(e.Stderr, "poplar filter %s: %d accounts: choose one with --account\n", sub, len(cfg.Accounts))
			return nil, false
		}
		return &cfg.Accounts[0], true
	}
	a, ok := cfg.Find(name)
	if !ok {
		fmt.Fprintf(e.Stderr, "poplar filter %s: no account %q (see 'poplar account list')\n", sub, name)
	}
	return a, ok
}

func filterList(e *Env, g Globals, args []string) int {
	var asJSON *bool
	_, cfg, name, code := filterSetup(e, &g, "list", 0, args, func(fs *flag.FlagSet) {
		asJSON = fs.Bool("json", false, "print JSON")
	})
	if code > 0 {
		return code
	}
	accts := cfg.Accounts
	if *name != "" {
		a, ok := filterAccount(e, cfg, "list", *name)
		if !ok {
			return 1
		}
		accts = []account.Account{*a}
	}
	if *asJSON {
		type cond struct {
			Field string `json:"field"`
			Op    string `json:"op"`
			Value string `json:"value"`
		}
		type action struct {
			Action string `json:"action"`
			Folder string `json:"folder,omitempty"`
		}
		type item struct {
			Account    string   `json:"account"`
			Name       string   `json:"name"`
			Match      string   `json:"match"`
			Conditions []cond   `json:"conditions"`
			Actions    []action `json:"actions"`
		}
		out := []item{}
		for _, a := range accts {
			for _, f := range a.Filters {
				it := item{Account: a.Name, Name: f.Name, Match: orDefault(f.Match, account.MatchAll)}
				for _, c := range f.Conditions {
					it.Conditions = append(it.Conditions, cond(c))
				}
				for _, x := range f.Actions {
					it.Actions = append(it.Actions, action(x))
				}
				out = append(out, it)
			}
		}
		enc := json.NewEncoder(e.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return 1
		}
		return 0
	}
	for _, a := range accts {
		if len(a.Filters) == 0 {
			fmt.Fprintf(e.Stdout, "%s: no filters\n", a.Name)
			continue
		}
		fmt.Fprintf(e.Stdout, "%s:\n", a.Name)
		for i, f := range a.Filters {
			fmt.Fprintf(e.Stdout, "  %d. %s\n", i+1, describeFilter(f))
		}
	}
	return 0
}

// orDefault returns s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// describeFilter writes a filter as a sentence: `Lists: if any of to contains "x", size greater
// 1M then move to Lists, stop`.
func describeFilter(f account.Filter) string {
	conds := make([]string, len(f.Conditions))
	for i, c := range f.Conditions {
		conds[i] = fmt.Sprintf("%s %s %q", c.Field, c.Op, c.Value)
	}
	acts := make([]string, len(f.Actions))
	for i, a := range f.Actions {
		acts[i] = a.Action
		if a.Action == account.ActionMove {
			acts[i] = "move to " + a.Folder
		}
	}
	join := " and "
	if f.Match == account.MatchAny {
		join = " or "
	}
	return fmt.Sprintf("%s: if %s then %s", f.Name, strings.Join(conds, join), strings.Join(acts, ", "))
}

func filterAdd(e *Env, g Globals, args []string) int {
	var fname *string
	var anyOf *bool
	var ifs, thens stringList
	_, cfg, name, code := filterSetup(e, &g, "add", 0, args, func(fs *flag.FlagSet) {
		fname = fs.String("name", "", "the filter's name")
		anyOf = fs.Bool("any", false, "match when any condition holds (default: all of them)")
		fs.Var(&ifs, "if", "a condition FIELD:OP:VALUE (repeatable)")
		fs.Var(&thens, "then", "an action ACTION[:FOLDER] (repeatable)")
	})
	if code > 0 {
		return code
	}
	f := account.Filter{Name: *fname}
	if *anyOf {
		f.Match = account.MatchAny
	}
	for _, c := range ifs {
		p := strings.SplitN(c, ":", 3)
		if len(p) != 3 {
			fmt.Fprintf(e.Stderr, "poplar filter add: --if %q: want FIELD:OP:VALUE, e.g. from:contains:example.org\n", c)
			return 2
		}
		f.Conditions = append(f.Conditions, account.Condition{Field: p[0], Op: p[1], Value: p[2]})
	}
	for _, t := range thens {
		act, folder, _ := strings.Cut(t, ":")
		f.Actions = append(f.Actions, account.Action{Action: act, Folder: folder})
	}
	a, ok := filterAccount(e, cfg, "add", *name)
	if !ok {
		return 1
	}
	next := cfg.Clone()
	na, _ := next.Find(a.Name)
	na.Filters = append(na.Filters, f)
	if err := next.Update(*na); err != nil {
		fmt.Fprintf(e.Stderr, "poplar filter add: %v\n", err)
		return 1
	}
	if err := next.Save(g.ConfigDir); err != nil {
		fmt.Fprintf(e.Stderr, "poplar filter add: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.Stdout, "Filter %q added to %s (number %d)\n", f.Name, a.Name, len(na.Filters))
	return 0
}

func filterRemove(e *Env, g Globals, args []string) int {
	fs, cfg, name, code := filterSetup(e, &g, "remove", 1, args, func(*flag.FlagSet) {})
	if code > 0 {
		return code
	}
	fname := fs.Arg(0)
	a, ok := filterAccount(e, cfg, "remove", *name)
	if !ok {
		return 1
	}
	next := cfg.Clone()
	na, _ := next.Find(a.Name)
	i := slices.IndexFunc(na.Filters, func(f account.Filter) bool { return f.Name == fname })
	if i < 0 {
		fmt.Fprintf(e.Stderr, "poplar filter remove: %s has no filter %q (see 'poplar filter list')\n", a.Name, fname)
		return 1
	}
	na.Filters = slices.Delete(na.Filters, i, i+1)
	if err := next.Save(g.ConfigDir); err != nil {
		fmt.Fprintf(e.Stderr, "poplar filter remove: %v\n", err)
		return 1
	}
	fmt.Fprintf(e.Stdout, "Filter %q removed from %s\n", fname, a.Name)
	return 0
}

func filterRun(e *Env, g Globals, args []string) int {
	var folder, only *string
	var test *bool
	_, cfg, name, code := filterSetup(e, &g, "run", 0, args, func(fs *flag.FlagSet) {
		folder = fs.String("folder", storage.Inbox, "the folder whose messages the filters sort")
		only = fs.String("filter", "", "run only the filter of this name")
		test = fs.Bool("test", false, "change nothing: say how many messages each filter would match")
	})
	if code > 0 {
		return code
	}
	a, ok := filterAccount(e, cfg, "run", *name)
	if !ok {
		return 1
	}
	filters := a.Filters
	if *only != "" {
		i := slices.IndexFunc(filters, func(f account.Filter) bool { return f.Name == *only })
		if i < 0 {
			fmt.Fprintf(e.Stderr, "poplar filter run: %s has no filter %q (see 'poplar filter list')\n", a.Name, *only)
			return 1
		}
		filters = filters[i : i+1]
	}
	if len(filters) == 0 {
		fmt.Fprintf(e.Stderr, "poplar filter run: %s has no filters; add one with 'poplar filter add'\n", a.Name)
		return 1
	}
	s, err := storage.Open(account.DataDir(g.DataDir, a.Name))
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar filter run: %v\n", err)
		return 1
	}
	defer s.Close()
	sums, err := s.Summaries(*folder)
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar filter run: %v\n", err)
		return 1
	}
	keys := make([]string, len(sums))
	for i, m := range sums {
		keys[i] = m.Key
	}
	if *test {
		plans, err := account.PlanFilters(s, *folder, keys, filters)
		counts := map[string]int{}
		for _, p := range plans {
			for _, n := range p.Matched {
				counts[n]++
			}
		}
		for _, f := range filters {
			fmt.Fprintf(e.Stdout, "%s: would match %s in %s\n", f.Name, messages(counts[f.Name]), *folder)
		}
		if len(filters) > 1 {
			fmt.Fprintf(e.Stdout, "in all: would match %s in %s\n", messages(len(plans)), *folder)
		}
		if err != nil {
			fmt.Fprintf(e.Stderr, "poplar filter run: %v\n", err)
			return 1
		}
		return 0
	}
	res, err := account.ApplyFilters(s, *folder, keys, filters)
	for _, to := range slices.Sorted(maps.Keys(res.Moved)) {
		fmt.Fprintf(e.Stdout, "moved %s to %s\n", messages(res.Moved[to]), to)
	}
	if res.MarkedRead > 0 {
		fmt.Fprintf(e.Stdout, "marked %s read\n", messages(res.MarkedRead))
	}
	if res.Flagged > 0 {
		fmt.Fprintf(e.Stdout, "flagged %s\n", messages(res.Flagged))
	}
	changed := res.MarkedRead + res.Flagged
	for _, n := range res.Moved {
		changed += n
	}
	switch {
	case res.Matched == 0:
		fmt.Fprintf(e.Stdout, "no filter matched any of the %s in %s\n", messages(len(keys)), *folder)
	case changed == 0 && err == nil:
		fmt.Fprintf(e.Stdout, "%s in %s matched; nothing to change\n", messages(res.Matched), *folder)
	}
	if err != nil {
		fmt.Fprintf(e.Stderr, "poplar filter run: %v\n", err)
		return 1
	}
	return 0
}

// messages says "1 message" or "N messages".
func messages(n int) string {
	if n == 1 {
		return "1 message"
	}
	return fmt.Sprintf("%d messages", n)
}
