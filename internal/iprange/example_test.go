package iprange_test

import (
	"fmt"

	"github.com/heraldlb/herald/internal/iprange"
)

func ExampleParse() {
	for _, s := range []string{"192.0.2.0/24", "192.0.2.10 - 192.0.2.20", "2001:db8::/64", "192.0.2.1/24"} {
		r, err := iprange.Parse(s)
		if err != nil {
			fmt.Println("error:", err)
			continue
		}
		fmt.Println(r, r.Size(), iprange.CountBuggy(r))
	}
	// Output:
	// 192.0.2.0/24 256 2
	// 192.0.2.10-192.0.2.20 11 0
	// 2001:db8::/64 18446744073709551616 0
	// error: "192.0.2.1/24" has host bits set; did you mean "192.0.2.0/24"?
}
