package articles

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Hash identifies articles' content and the index options: the key of the
// on-disk cache and of the passages' embeddings.
func Hash(articles []Article, opts Options) string {
	h := sha256.New()
	buf := make([]byte, 32<<10)
	o := opts.withDefaults()
	fmt.Fprintf(h, "supportbot articles v1\n%d %g %g %g %g\n", o.MaxPassageWords, o.K1, o.B, o.TitleBoost, o.HeadingBoost)
	for _, a := range articles {
		fmt.Fprintf(h, "%d:%s%d:%s%d:%s%d:%s\n", len(a.ID), a.ID, len(a.Title), a.Title, len(a.URL), a.URL, len(a.Locale), a.Locale)
		for _, s := range a.Sections {
			for _, x := range s.Headings {
				fmt.Fprintf(h, "h%d:%s", len(x), x)
			}
			fmt.Fprintf(h, "t%d:", len(s.Text))
			for t := s.Text; len(t) > 0; {
				// Through a reused buffer: WriteString would copy the
				// whole text at once.
				n := copy(buf, t)
				h.Write(buf[:n])
				t = t[n:]
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
