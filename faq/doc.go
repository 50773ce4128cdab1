// Package faq is supportbot's knowledge base: it loads FAQ entries from YAML,
// builds the local matcher that maps a customer's question to the entries
// that answer it, and evaluates that matcher (or any answer-or-escalate
// function) against labelled cases.
//
// A knowledge base is one YAML file, or a directory of *.yaml / *.yml files,
// each holding
//
//	entries:
//	  - id: "password-reset"
//	    question: "How do I reset my password?"
//	    examples: ["I forgot my password", "can't log in"]
//	    answer: "Use the 'Forgot password' link on the sign-in page."
//	    tags: ["account"]
//
// The matcher is pure Go and needs no network: at build time it trains two
// multinomial logistic regressions over word and character n-grams of every
// entry's question and examples (and, for an entry with few of those, its
// answer), with WordNet synsets and, on a sparse knowledge base, HWU64
// topics of the words from tables embedded in the binary; at match time it
// returns the top-k entries with a calibrated confidence in [0, 1] that
// also weighs how much of the question the entry's vocabulary covers. The
// calibration follows the knowledge base's density, so one threshold suits
// a FAQ with one phrasing an entry and one with a hundred. Below the threshold
// (DefaultThreshold unless configured) a question is out of scope and must
// be escalated. A build takes seconds on a large knowledge base, so
// BuildCached keeps built models on disk and Live builds in the background
// and swaps models atomically on reload. docs/MATCHER.md has the method and
// its measurements.
//
// Evaluate, EvaluateFunc and Sweep score a matcher, or any decision
// function, on labelled cases (LoadCases) as `supportbot eval` reports them.
package faq
