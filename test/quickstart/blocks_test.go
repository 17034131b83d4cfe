// Package quickstart runs the first five minutes of a new user: `make run`
// (hack/run.sh) on a fresh local control plane, the five commands it prints,
// exactly as printed, and then every sh block of docs/quickstart.md in order,
// comparing each block's output with the text block that follows it.
package quickstart

import (
	"strings"
	"testing"
)

// block is a fenced sh block of the quickstart and the text block after it.
type block struct {
	line   int    // where the block starts in the file
	script string // the commands
	want   string // the expected output; "" when no text block follows
	check  bool   // whether a text block follows
}

// parseBlocks returns the sh blocks of a Markdown document, each with the text
// block that follows it (if the next fenced block is a text block).
func parseBlocks(doc string) []block {
	var (
		out     []block
		lang    string
		body    []string
		start   int
		inFence bool
		prev    string // the language of the previous fenced block
	)
	for i, line := range strings.Split(doc, "\n") {
		if !inFence {
			if after, ok := strings.CutPrefix(line, "```"); ok {
				inFence, lang, body, start = true, strings.TrimSpace(after), nil, i+1
			}
			continue
		}
		if line != "```" {
			body = append(body, line)
			continue
		}
		inFence = false
		text := strings.Join(body, "\n") + "\n"
		switch lang {
		case "sh":
			out = append(out, block{line: start, script: text})
		case "text":
			// A text block holds the output of the sh block right before it.
			if n := len(out); n > 0 && prev == "sh" {
				out[n-1].want, out[n-1].check = text, true
			}
		}
		prev = lang
	}
	return out
}

func TestParseBlocks(t *testing.T) {
	doc := "# t\n```sh\necho a\n```\n\n```text\na\n```\n```console\n$ make run\n```\n```sh\necho b\necho c\n```\n"
	got := parseBlocks(doc)
	if len(got) != 2 || got[0].script != "echo a\n" || got[0].want != "a\n" || !got[0].check ||
		got[1].script != "echo b\necho c\n" || got[1].check {
		t.Fatalf("parseBlocks = %+v", got)
	}
}
