package main

import (
	"strings"
)

// lineWidth is where generated prose wraps, as in the rest of the documentation.
const lineWidth = 100

// wrap breaks text into lines of at most lineWidth characters (longer words stay whole); lines
// after the first start with indent.
func wrap(text, first, indent string) string {
	var b strings.Builder
	line := first
	empty := true
	for _, w := range strings.Fields(text) {
		if !empty && len(line)+1+len(w) > lineWidth {
			b.WriteString(line + "\n")
			line, empty = indent, true
		}
		if !empty {
			line += " "
		}
		line += w
		empty = false
	}
	b.WriteString(line + "\n")
	return b.String()
}

// paragraph is text wrapped, followed by a blank line.
func paragraph(text string) string { return wrap(text, "", "") + "\n" }

// bullet is text wrapped as a list item.
func bullet(text string) string { return wrap(text, "- ", "  ") }
