package iprange

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"192.0.2.0/24", "192.0.2.1/24", "2001:db8::/64", "::/0", "0.0.0.0/0",
		"192.0.2.10-192.0.2.20", "192.0.2.10 - 192.0.2.20", "2001:db8::1-2001:db8::ff",
		"192.0.2.1", "2001:db8::1", "fe80::1%eth0", "::ffff:192.0.2.1", "192.0.2.9-192.0.2.1",
		"192.0.2.1-2001:db8::1", "255.255.255.255/32", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
		"", "-", "/", "1.2.3.4/", "1.2.3.4/033",
	} {
		f.Add(s)
	}
	sentinels := []error{ErrSyntax, ErrZone, ErrHostBits, ErrFamilyMismatch, ErrReversed}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			matched := false
			for _, sentinel := range sentinels {
				matched = matched || errors.Is(err, sentinel)
			}
			if !matched {
				t.Fatalf("Parse(%q) error %v wraps no sentinel", s, err)
			}
			return
		}
		if !r.IsValid() {
			t.Fatalf("Parse(%q) = %#v, an invalid range", s, r)
		}
		text := r.String()
		again, err := Parse(text)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", s, text, err)
		}
		if again != r {
			t.Fatalf("Parse(%q) = %v, but its String %q parses to %v", s, r, text, again)
		}
		if size := r.Size(); size.Sign() <= 0 {
			t.Fatalf("Parse(%q).Size() = %v", s, size)
		}
		if !r.Contains(r.First) || !r.Contains(r.Last) || !r.Overlaps(r) {
			t.Fatalf("Parse(%q) = %v does not contain its own ends", s, r)
		}
		if p, ok := r.Prefix(); ok && prefixRange(p) != r {
			t.Fatalf("Parse(%q) = %v, but Prefix %v covers %v", s, r, p, prefixRange(p))
		}
	})
}
