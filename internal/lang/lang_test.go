package lang

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/text/language"

	"github.com/bayling-go/bayling/internal/testenv"
)

func sharedDir(t *testing.T) string { return testenv.Shared(t) }

func TestEveryFloresFilePresent(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "evaldata", "flores200")
	for _, split := range []string{"dev", "devtest"} {
		ents, err := os.ReadDir(filepath.Join(dir, split))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range ents {
			code := strings.TrimSuffix(e.Name(), "."+split)
			if code == e.Name() {
				continue
			}
			n++
			l, err := Lookup(code)
			if err != nil {
				t.Errorf("%s/%s: %v", split, e.Name(), err)
				continue
			}
			if l.Code != code {
				t.Errorf("Lookup(%q).Code = %q", code, l.Code)
			}
		}
		if n != 204 || len(All()) != 204 {
			t.Errorf("%s: %d files, registry has %d languages; want 204 both", split, n, len(All()))
		}
	}
}

// The English names are FLORES-200's own, from the dataset's languages.tsv.
func TestNamesMatchFlores(t *testing.T) {
	f, err := os.Open(filepath.Join(sharedDir(t), "evaldata", "flores200", "languages.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	n := 0
	for sc.Scan() {
		code, name, _ := strings.Cut(sc.Text(), "\t")
		l, err := Lookup(code)
		if err != nil {
			t.Errorf("%s: %v", code, err)
			continue
		}
		if l.Name != name {
			t.Errorf("%s: Name %q, FLORES-200 says %q", code, l.Name, name)
		}
		n++
	}
	if n != 204 {
		t.Errorf("languages.tsv has %d rows", n)
	}
}

func TestTableInvariants(t *testing.T) {
	all := All()
	if !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].Code < all[j].Code }) {
		t.Error("All() not sorted by code")
	}
	for _, l := range all {
		if l.Code != l.ISO639_3+"_"+l.Script {
			t.Errorf("%s: code is not ISO639_3_Script (%s, %s)", l.Code, l.ISO639_3, l.Script)
		}
		if _, err := language.ParseScript(l.Script); err != nil {
			t.Errorf("%s: script %q is not ISO 15924: %v", l.Code, l.Script, err)
		}
		if _, err := language.ParseBase(l.ISO639_3); err != nil {
			t.Errorf("%s: %q is not an ISO 639 code: %v", l.Code, l.ISO639_3, err)
		}
		if l.ISO639_1 != "" && len(l.ISO639_1) != 2 {
			t.Errorf("%s: ISO639_1 %q", l.Code, l.ISO639_1)
		}
		if l.NameZh == "" || l.Name == "" {
			t.Errorf("%s: missing name", l.Code)
		}
		// Cross-check the 2-letter alias with CLDR where CLDR knows the language.
		if l.ISO639_1 != "" {
			b, err := language.ParseBase(l.ISO639_1)
			if err != nil {
				t.Errorf("%s: %q: %v", l.Code, l.ISO639_1, err)
			} else if b3 := b.ISO3(); b3 != l.ISO639_3 && macro[b3] != l.ISO639_3 && b3 != macroOf(l.ISO639_3) {
				t.Errorf("%s: ISO639_1 %q is %s in ISO 639-3", l.Code, l.ISO639_1, b3)
			}
		}
	}
}

// macroOf returns the ISO 639-3 macrolanguage x/text folds code into.
func macroOf(code string) string {
	b, err := language.ParseBase(code)
	if err != nil {
		return ""
	}
	t, _ := language.Compose(b)
	c, _ := language.All.Canonicalize(t)
	cb, _ := c.Base()
	return cb.ISO3()
}

func TestRoundTrip(t *testing.T) {
	for _, l := range All() {
		for _, key := range []string{l.Code, strings.ToUpper(l.Code), l.Name, strings.ToLower(l.Name)} {
			got, err := Lookup(key)
			if err != nil || got != l {
				t.Errorf("Lookup(%q) = %v, %v; want %s", key, got.Code, err, l.Code)
			}
		}
		// Bare ISO codes resolve to the same language, in its default script.
		for _, key := range []string{l.ISO639_3, l.ISO639_1} {
			if key == "" {
				continue
			}
			got, err := Lookup(key)
			if err != nil {
				t.Errorf("Lookup(%q): %v", key, err)
			} else if got.ISO639_3 != l.ISO639_3 {
				t.Errorf("Lookup(%q) = %s, want a %s entry", key, got.Code, l.ISO639_3)
			}
		}
	}
}

func TestLookupAliases(t *testing.T) {
	cases := map[string]string{
		"zh": "zho_Hans", "zho": "zho_Hans", "zh-Hans": "zho_Hans", "zh-Hant": "zho_Hant",
		"zh_CN": "zho_Hans", "zh-CN": "zho_Hans", "zh-TW": "zho_Hant", "zh_HK": "zho_Hant",
		"cmn": "zho_Hans", "yue": "yue_Hant", "sw": "swh_Latn", "swa": "swh_Latn", "swh": "swh_Latn",
		"en": "eng_Latn", "en-US": "eng_Latn", "eng": "eng_Latn", "English": "eng_Latn",
		"ar": "arb_Arab", "ara": "arb_Arab", "ar-Latn": "arb_Latn", "fa": "pes_Arab", "fa-AF": "prs_Arab",
		"ms": "zsm_Latn", "id": "ind_Latn", "he": "heb_Hebr", "iw": "heb_Hebr", "nb": "nob_Latn",
		"no": "nob_Latn", "nn": "nno_Latn", "sr": "srp_Cyrl", "sr-Cyrl": "srp_Cyrl", "ks": "kas_Arab",
		"ks-Deva": "kas_Deva", "ace": "ace_Latn", "ace_Arab": "ace_Arab", "fre": "fra_Latn",
		"pt-BR": "por_Latn", "az": "azj_Latn", "tl": "tgl_Latn", "fil": "tgl_Latn", "ko": "kor_Hang",
		"ja": "jpn_Jpan", "  de ": "deu_Latn", "chinese (simplified)": "zho_Hans",
	}
	for in, want := range cases {
		got, err := Lookup(in)
		if err != nil || got.Code != want {
			t.Errorf("Lookup(%q) = %q, %v; want %s", in, got.Code, err, want)
		}
	}
}

func TestUnknownSuggests(t *testing.T) {
	cases := []struct{ in, want string }{
		{"swh_Lat", `lang: unknown language "swh_Lat"; did you mean swh_Latn (Swahili)`},
		{"zho_Hanz", "zho_Hans (Chinese (Simplified))"},
		{"englsh", "eng_Latn (English)"},
		{"swahil", "swh_Latn (Swahili)"},
		{"xx", `unknown language "xx"`},
		{"", "empty"},
		{"und", `unknown language "und"`},
	}
	for _, c := range cases {
		_, err := Lookup(c.in)
		if err == nil {
			t.Errorf("Lookup(%q) succeeded", c.in)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("Lookup(%q) error %q; want it to contain %q", c.in, err, c.want)
		}
	}
	// An explicit script FLORES-200 lacks is an error, not a substitute.
	if l, err := Lookup("sr-Latn"); err == nil {
		t.Errorf("Lookup(sr-Latn) = %s; want error (FLORES-200 has Serbian only in Cyrillic)", l.Code)
	}
}

func TestAllIsACopy(t *testing.T) {
	a := All()
	a[0].Name = "changed"
	if All()[0].Name == "changed" {
		t.Error("All() exposes the registry's table")
	}
}

func FuzzLookup(f *testing.F) {
	for _, s := range []string{"zh", "swh_Lat", "zh-Hant-TW", "sr-Latn", "English", "x-private", "und"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := Lookup(s)
		if err == nil && l.Code == "" {
			t.Fatalf("Lookup(%q) returned empty language without error", s)
		}
	})
}
