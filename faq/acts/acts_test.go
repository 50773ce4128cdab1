package acts_test

import (
	"strings"
	"testing"

	"github.com/supportbot/supportbot/faq/acts"
)

func TestParse(t *testing.T) {
	t.Parallel()
	r := acts.Default()
	for _, tc := range []struct {
		name, text string
		want       acts.Result
	}{
		{"hello", "hello", acts.Result{Act: acts.Greeting}},
		{"hi there", "Hi there!", acts.Result{Act: acts.Greeting}},
		{"stretched", "hiii 👋", acts.Result{Act: acts.Greeting}},
		{"how are you", "hey, how are you doing today?", acts.Result{Act: acts.Greeting}},
		{"good morning", "Good morning, bot", acts.Result{Act: acts.Greeting}},
		{"thanks", "thanks!", acts.Result{Act: acts.Thanks}},
		{"thank you so much", "thank you so much that worked", acts.Result{Act: acts.Thanks}},
		{"thanks that worked", "thanks, that worked!", acts.Result{Act: acts.Thanks}},
		{"curly apostrophe", "That’s perfect, thank you 🙏", acts.Result{Act: acts.Thanks}},
		{"ok", "ok", acts.Result{Act: acts.Thanks}},
		{"great", "great", acts.Result{Act: acts.Thanks}},
		{"thumbs up", "👍", acts.Result{Act: acts.Thanks}},
		{"bye", "bye", acts.Result{Act: acts.Goodbye}},
		{"thanks bye", "thanks, bye!", acts.Result{Act: acts.Goodbye}},
		{"have a nice day", "Have a nice day", acts.Result{Act: acts.Goodbye}},
		{"yes", "yes", acts.Result{Act: acts.Yes}},
		{"yes it did", "Yes it did, thanks", acts.Result{Act: acts.Yes}},
		{"no", "no", acts.Result{Act: acts.No}},
		{"nope", "nope.", acts.Result{Act: acts.No}},
		{"didn't help", "that didn't help", acts.Result{Act: acts.Rejection}},
		{"still not working", "still not working", acts.Result{Act: acts.Rejection}},
		{"didn't help, still doesn't work", "that didn't help, it still doesn't work", acts.Result{Act: acts.Rejection}},
		{"wrong answer", "Wrong answer.", acts.Result{Act: acts.Rejection}},
		{"no that's wrong", "no, that's wrong", acts.Result{Act: acts.Rejection}},
		// Questions are never swallowed: the act that opens one is stripped.
		{"thanks but question", "thanks, but how do I cancel?", acts.Result{Lead: acts.Thanks, Rest: "how do I cancel?"}},
		{"thanks but no comma", "thanks but how do I cancel?", acts.Result{Lead: acts.Thanks, Rest: "how do I cancel?"}},
		{"hi question", "hi, how do I reset my password?", acts.Result{Lead: acts.Greeting, Rest: "how do I reset my password?"}},
		{"hi no comma", "hi how do I reset my password", acts.Result{Lead: acts.Greeting, Rest: "how do I reset my password"}},
		{"burst", "Hi there\nHow do I reset my password?", acts.Result{Lead: acts.Greeting, Rest: "How do I reset my password?"}},
		{"good morning question", "Good morning! Where is my invoice?", acts.Result{Lead: acts.Greeting, Rest: "Where is my invoice?"}},
		{"no question", "how do I reset my password?", acts.Result{}},
		{"how are you supposed to", "how are you supposed to cancel", acts.Result{}},
		{"my app doesn't work", "my app doesn't work", acts.Result{}},
		{"thank you in french", "how do I say thank you in french", acts.Result{}},
		{"fillers only", "so, um...", acts.Result{}},
		{"emoji only", "😀", acts.Result{}},
		{"smiley thanks", "thanks 😀", acts.Result{Act: acts.Thanks}},
		{"empty", "", acts.Result{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := r.Parse(tc.text); got != tc.want {
				t.Fatalf("Parse(%q) = %+v, want %+v", tc.text, got, tc.want)
			}
		})
	}
}

func TestParsePhrases(t *testing.T) {
	t.Parallel()
	r, err := acts.Parse([]byte("# mine\n[greeting]\n(servus|moin) (zusammen|)\n[thanks]\ndanke (schön|)\n[filler]\nbot\n"))
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]acts.Act{"Moin zusammen": acts.Greeting, "servus bot": acts.Greeting, "danke schön!": acts.Thanks, "hello": acts.None} {
		if got := r.Parse(text).Act; got != want {
			t.Errorf("Parse(%q).Act = %q, want %q", text, got, want)
		}
	}
	for name, data := range map[string]string{
		"unknown section": "[smalltalk]\nhi\n",
		"no section":      "hi\n",
		"unbalanced":      "[greeting]\n(hi|hello\n",
		"stray bar":       "[greeting]\nhi|hello\n",
	} {
		if _, err := acts.Parse([]byte(data)); err == nil {
			t.Errorf("%s: Parse = nil error, want one", name)
		}
	}
}

func TestDefaultPhrasesParse(t *testing.T) {
	t.Parallel()
	if _, err := acts.Parse(acts.DefaultPhrases()); err != nil {
		t.Fatal(err)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"hi", "thanks, but how do I cancel?", "👍🏽", "no\n\nyes", "it’s ok", "hiiiiii"} {
		f.Add(s)
	}
	r := acts.Default()
	f.Fuzz(func(t *testing.T, s string) {
		res := r.Parse(s)
		if res.Act != acts.None && (res.Lead != acts.None || res.Rest != "") {
			t.Fatalf("Parse(%q) = %+v: both a whole act and a lead", s, res)
		}
		if res.Lead != acts.None && res.Rest == "" {
			t.Fatalf("Parse(%q) = %+v: a lead without a rest", s, res)
		}
	})
}

// TestEverydayPhrasings holds the recognizer to small talk written apart
// from any data set: each must be recognised as the act given.
func TestEverydayPhrasings(t *testing.T) {
	t.Parallel()
	r := acts.Default()
	for act, texts := range map[acts.Act][]string{
		acts.Greeting: {"hello there", "howdy partner", "good afternoon", "hey, how are things", "how's your day been",
			"hello ai, how are you", "greetings and salutations", "hi, how are things going with you", "how have you been lately",
			"it's nice to see you", "sup dude", "hello again", "how are you feeling today", "hiya!", "Hey 👋"},
		acts.Thanks: {"thanks a bunch", "you're the best, thanks", "that was very helpful, thank you", "much appreciated",
			"i can't thank you enough", "you are a big help", "thanks i needed that", "great help, thanks", "thx",
			"thank you for assisting me", "i'm grateful for your assistance", "perfect, thanks!", "got it, thanks", "awesome 👍"},
		acts.Goodbye: {"see you around", "talk to you soon", "bye, talk later", "time to go", "i've got to run", "so long, partner",
			"adios amigo", "catch you on the flip side", "goodnight, talk tomorrow", "i have to leave", "until we meet again",
			"we'll talk later", "it's been a pleasure, goodbye", "have a great weekend", "that's all for today, bye"},
	} {
		for _, text := range texts {
			if got := r.Parse(text).Act; got != act {
				t.Errorf("Parse(%q).Act = %q, want %q", text, got, act)
			}
		}
	}
}

func BenchmarkParse(b *testing.B) {
	r := acts.Default()
	texts := []string{"thanks, that worked!", "hi, how do I reset my password?", "I was charged twice for my subscription last month and want a refund"}
	for i := 0; b.Loop(); i++ {
		r.Parse(texts[i%len(texts)])
	}
}

// TestParseLongMessages guards against work that grows faster than the
// message: a webhook body may carry 64 KiB of text.
func TestParseLongMessages(t *testing.T) {
	t.Parallel()
	r := acts.Default()
	for name, text := range map[string]string{
		"one stretched word":        strings.Repeat("a", 64<<10),
		"fillers":                   strings.Repeat("so ", 20000),
		"thanks":                    strings.Repeat("thanks ", 9000),
		"greetings then a question": strings.Repeat("hi ", 20000) + "how do I reset my password",
	} {
		res := r.Parse(text)
		if name == "thanks" && res.Act != acts.Thanks {
			t.Errorf("%s: %+v", name, res.Act)
		}
		if name == "fillers" && (res.Act != acts.None || res.Lead != acts.None) {
			t.Errorf("%s: %+v", name, res.Act)
		}
	}
}
