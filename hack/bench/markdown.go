package main

import "github.com/heraldlb/herald/internal/benchdoc"

// docIntro starts a benchmarks file that does not exist yet.
const docIntro = `# Benchmarks

Herald's performance figures. Each section below was measured on the machine, on the date and with
the command it names, and sits between ` + "`<!-- NAME:begin -->` and `<!-- NAME:end -->`" + ` markers:
the command that produces a section rewrites only the text between its markers, so sections are
regenerated independently (and may come from different machines). ` + "`make bench`" + ` regenerates
all of them.

| section | what it measures | regenerate with |
| --- | --- | --- |
| allocator | one Assign plus Release in pools of every size and fill (` + "`" + `internal/allocator` + "`" + `); plot ` + "`" + `img/allocator.png` + "`" + ` | ` + "`" + `make bench-allocator` + "`" + ` |
| controller | herald-controller end to end against a real kube-apiserver and etcd, 1000 and 5000 Services; plot ` + "`" + `img/live-latency.png` + "`" + ` | ` + "`" + `make bench-controller` + "`" + ` |
| bgp | one speaker advertising and withdrawing 10,000 prefixes to FRR | ` + "`" + `make bench-bgp` + "`" + ` |
| speaker | speakers in the lab: CPU and RSS idle and with 5000 addresses; reaction time from a Service's creation to ARP and to the router | ` + "`" + `make bench-speaker` + "`" + ` |

Elsewhere: layer 2 failover in [failover.md](failover.md) and BGP failover (router dropping a
dead node, ETP Local, router restart) in [bgp-failover.md](bgp-failover.md), both from
` + "`" + `make e2e-figures` + "`" + `; recovery from faults in [chaos.md](chaos.md), from ` + "`" + `make chaos` + "`" + `. Plots are
drawn by ` + "`" + `make bench-plots` + "`" + ` from the CSV files the benchmarks leave in ` + "`" + `img/` + "`" + `.
`

// writeSection writes one section of the benchmarks file (see internal/benchdoc).
func writeSection(path, name, body string) error {
	return benchdoc.WriteSection(path, name, body, docIntro)
}
