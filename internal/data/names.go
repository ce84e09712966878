package data

import "github.com/bayling-go/bayling/internal/lang"

// DefaultNamer names languages in English and Chinese from the FLORES-200
// registry and in other instruction languages from CLDR.
func DefaultNamer(code, in string) string {
	switch in {
	case "eng_Latn", "zho_Hans":
		l, err := lang.Lookup(code)
		if err != nil {
			return ""
		}
		if in == "eng_Latn" {
			return l.Name
		}
		return l.NameZh
	}
	return cldrName(code, in)
}
