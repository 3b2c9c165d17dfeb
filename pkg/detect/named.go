package detect

import "strings"

// named is "noun id" for a sentence, or, when the record does not give the identifier, what is
// known instead ("a trail the record does not name"), so that a sentence never shows an empty
// name ("deleted trail  ;").
func named(noun, id string) string {
	if id = strings.TrimSpace(id); id != "" {
		return noun + " " + id
	}
	return article(noun) + " " + noun + " the record does not name"
}

// theNamed is "the noun id", or what named says when the record does not give id.
func theNamed(noun, id string) string {
	if strings.TrimSpace(id) == "" {
		return named(noun, "")
	}
	return "the " + named(noun, id)
}

// article is "a" or "an" before noun, reading an all-capitals first word as letters ("an MFA
// device", "a KMS key").
func article(noun string) string {
	if noun == "" {
		return "a"
	}
	first, _, _ := strings.Cut(noun, " ")
	vowelSound := "aeiouAEIOU"
	if len(first) > 1 && strings.ToUpper(first) == first {
		vowelSound = "AEFHILMNORSX"
	}
	if strings.ContainsRune(vowelSound, rune(noun[0])) {
		return "an"
	}
	return "a"
}
