package benchdoc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReplaceSectionRewritesOnlyItsMarkers(t *testing.T) {
	doc := "# T\n\n<!-- a:begin -->\nold a\n<!-- a:end -->\n\n<!-- b:begin -->\nold b\n<!-- b:end -->\n"
	got, err := replaceSection(doc, "a", "new a\n\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# T\n\n<!-- a:begin -->\nnew a\n<!-- a:end -->\n\n<!-- b:begin -->\nold b\n<!-- b:end -->\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestReplaceSectionAppendsAMissingSection(t *testing.T) {
	got, err := replaceSection("# T\n", "c", "body")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# T\n\n<!-- c:begin -->\nbody\n<!-- c:end -->\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReplaceSectionRejectsBrokenMarkers(t *testing.T) {
	for _, doc := range []string{
		"<!-- a:end -->\n<!-- a:begin -->\n",
		"<!-- a:begin -->\n",
		"<!-- a:begin -->\n<!-- a:end -->\n<!-- a:begin -->\n<!-- a:end -->\n",
	} {
		if _, err := replaceSection(doc, "a", "x"); err == nil {
			t.Errorf("%q: no error", doc)
		}
	}
}
