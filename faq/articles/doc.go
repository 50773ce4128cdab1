// Package articles reads a help center (a directory of Markdown and HTML
// articles), splits each article into passages along its headings, and
// retrieves the passages that answer a question with a lexical index:
// BM25 over stemmed words, with the article's title and the passage's
// heading path as boosted fields, aggregated per article. Scores come with
// a relevancy in [0, 1] (the share of the question's weight that the best
// passage matches), which the policy compares with a threshold measured on
// the eval set (docs/KNOWLEDGE.md) to decide that the articles do not cover
// a question.
//
// Markdown articles may start with YAML front matter (title, url, tags,
// locale; other keys, such as updated_at or source written by
// `supportbot kb import`, are accepted and ignored). Without a title, the
// first "# " heading is the title. HTML articles take their title from
// <title> or the first <h1>, and their link from <link rel="canonical">
// or <meta name="url">.
package articles
