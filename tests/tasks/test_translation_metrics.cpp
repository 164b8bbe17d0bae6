#include "tests/catch.h"

#include "tasks/translation/metrics.h"

#include <cmath>
#include <stdexcept>

using attune::translation::corpus_bleu;
using attune::translation::corpus_chrf;
using attune::translation::tokenize_13a;

// Expected values are worked out by hand from sacreBLEU 2.x's formulas (and agree with
// sacrebleu.corpus_bleu / corpus_chrf run on the same input):
//   BLEU = bp * exp(mean(log p_n)), p_n = 100 * matches / total, n = 1..4;
//   chrF2 = 100 * 5 P R / (4 P + R) with P, R the precision and recall averaged over the
//   character orders 1..6 that have n-grams on both sides.

TEST_CASE("13a splits symbols but keeps numbers, apostrophes and hyphens in words", "[bleu]") {
  CHECK(tokenize_13a("Hello, world!") == "Hello , world !");
  CHECK(tokenize_13a("3.5 and 1,000") == "3.5 and 1,000");
  CHECK(tokenize_13a("end.") == "end .");
  CHECK(tokenize_13a("U.S.") == "U . S .");
  CHECK(tokenize_13a("x.5 5.x") == "x . 5 5 . x");
  CHECK(tokenize_13a("a.,b") == "a . , b");
  CHECK(tokenize_13a("$5.99") == "$ 5.99");
  CHECK(tokenize_13a("don't") == "don't");
  // A dash splits only after a digit.
  CHECK(tokenize_13a("2-3 well-known a-2") == "2 - 3 well-known a-2");
  CHECK(tokenize_13a("(a) [b] {c} #d @e ~f |g ^h _i =j *k +l") ==
        "( a ) [ b ] { c } # d @ e ~ f | g ^ h _ i = j * k + l");
}

TEST_CASE("13a unescapes entities in mteval's order and drops <skipped> and line breaks", "[bleu]") {
  CHECK(tokenize_13a("&quot;hi&quot; &amp; &lt;b&gt;") == "\" hi \" & < b >");
  // &amp; is unescaped after &quot;, so this one stays an entity (then split at & and ;).
  CHECK(tokenize_13a("&amp;quot;") == "& quot ;");
  CHECK(tokenize_13a("<skipped>x") == "x");
  CHECK(tokenize_13a("line-\nbreak a\nb") == "linebreak a b");
  // Python's str.split() also splits at a no-break space (U+00A0) and an em space (U+2003).
  CHECK(tokenize_13a("a\xc2\xa0" "b\xe2\x80\x83" "c  d\t") == "a b c d");
  CHECK(tokenize_13a("caf\xc3\xa9.") == "caf\xc3\xa9 .");
}

TEST_CASE("identical corpora score 100", "[bleu]") {
  const auto s = corpus_bleu({"The cat sat on the mat.", "Another line, here."},
                             {{"The cat sat on the mat.", "Another line, here."}});
  CHECK(s.score == Approx(100.0));
  CHECK(s.bp == 1.0);
  CHECK(s.sys_len == 12);  // 7 + 5 tokens after 13a
  CHECK(s.ref_len == 12);
  CHECK(corpus_chrf({"The cat sat on the mat."}, {{"The cat sat on the mat."}}) == Approx(100.0));
}

TEST_CASE("BLEU of one sentence pair from its n-gram counts", "[bleu]") {
  // hyp: the cat sat on the mat / ref: the cat sat on a mat
  // 1-grams 5/6 ("the" clipped to 1), 2-grams 3/5, 3-grams 2/4, 4-grams 1/3
  // BLEU = 100 * (5/6 * 3/5 * 1/2 * 1/3)^(1/4) = 100 * (1/12)^(1/4) = 53.7284965911771
  const auto s = corpus_bleu({"the cat sat on the mat"}, {{"the cat sat on a mat"}});
  CHECK(s.counts == std::array<int64_t, 4>{5, 3, 2, 1});
  CHECK(s.totals == std::array<int64_t, 4>{6, 5, 4, 3});
  CHECK(s.precisions[0] == Approx(500.0 / 6));
  CHECK(s.precisions[3] == Approx(100.0 / 3));
  CHECK(s.score == Approx(53.7284965911771).epsilon(1e-12));
}

TEST_CASE("exp smoothing halves the floor for each further order without a match", "[bleu]") {
  // hyp: a b c d / ref: a b d c
  // 1-grams 4/4, 2-grams 1/3 (a b), 3-grams 0/2 -> 100/(2*2) = 25, 4-grams 0/1 -> 100/(4*1) = 25
  // BLEU = 100 * (1 * 1/3 * 1/4 * 1/4)^(1/4) = 100 * (1/48)^(1/4) = 37.9917842825796
  const auto s = corpus_bleu({"a b c d"}, {{"a b d c"}});
  CHECK(s.precisions[2] == Approx(25.0));
  CHECK(s.precisions[3] == Approx(25.0));
  CHECK(s.score == Approx(37.9917842825796).epsilon(1e-12));
}

TEST_CASE("BLEU sums statistics over the corpus rather than averaging sentences", "[bleu]") {
  // The two pairs above: matches 5+4, 3+1, 2+0, 1+0 over totals 6+4, 5+3, 4+2, 3+1
  // BLEU = 100 * (9/10 * 4/8 * 2/6 * 1/4)^(1/4) = 100 * 0.0375^(1/4) = 44.0055868396697
  const auto s = corpus_bleu({"the cat sat on the mat", "a b c d"}, {{"the cat sat on a mat", "a b d c"}});
  CHECK(s.score == Approx(44.0055868396697).epsilon(1e-12));
  CHECK(s.sys_len == 10);
  CHECK(s.ref_len == 10);
}

TEST_CASE("the brevity penalty uses the reference length", "[bleu]") {
  // hyp: the cat sat on (4) / ref: the cat sat on the mat (6): all precisions 100,
  // bp = exp(1 - 6/4) = exp(-0.5), BLEU = 100 * exp(-0.5) = 60.6530659712633
  const auto s = corpus_bleu({"the cat sat on"}, {{"the cat sat on the mat"}});
  CHECK(s.bp == Approx(std::exp(-0.5)));
  CHECK(s.score == Approx(60.6530659712633).epsilon(1e-12));
}

TEST_CASE("an order with no hypothesis n-gram at all makes BLEU 0", "[bleu]") {
  // Three tokens have no 4-gram: sacreBLEU stops there, leaves p4 = 0 and floors log 0.
  const auto s = corpus_bleu({"a b c"}, {{"a b c"}});
  CHECK(s.precisions[0] == Approx(100.0));
  CHECK(s.precisions[2] == Approx(100.0));
  CHECK(s.precisions[3] == 0.0);
  CHECK(s.score == 0.0);
}

TEST_CASE("an empty hypothesis scores 0 with a zero brevity penalty", "[bleu]") {
  const auto s = corpus_bleu({""}, {{"a b"}});
  CHECK(s.score == 0.0);
  CHECK(s.bp == 0.0);
  CHECK(s.sys_len == 0);
  CHECK(s.ref_len == 2);
  CHECK(corpus_chrf({""}, {{"ab"}}) == 0.0);
}

TEST_CASE("several references: largest counts and the closest (then shorter) length", "[bleu]") {
  // hyp: a a a a / refs: "a x x x x" (5 tokens, one a) and "a a y" (3 tokens, two a)
  // 1-grams 2/4 (a clipped to 2), 2-grams 1/3 (one "a a"), 3-grams 0/2 -> 25, 4-grams 0/1 -> 25
  // lengths 5 and 3 are both 1 away from 4: the shorter, 3, is used, so bp = 1
  // BLEU = 100 * (1/2 * 1/3 * 1/4 * 1/4)^(1/4) = 100 * (1/96)^(1/4) = 31.9471552123136
  const auto s = corpus_bleu({"a a a a"}, {{"a x x x x"}, {"a a y"}});
  CHECK(s.ref_len == 3);
  CHECK(s.bp == 1.0);
  CHECK(s.counts == std::array<int64_t, 4>{2, 1, 0, 0});
  CHECK(s.score == Approx(31.9471552123136).epsilon(1e-12));
  // The reference order does not matter.
  CHECK(corpus_bleu({"a a a a"}, {{"a a y"}, {"a x x x x"}}).score == Approx(s.score).epsilon(1e-15));
}

TEST_CASE("chrF of a small pair by hand", "[chrf]") {
  // hyp: ab / ref: abc
  // 1-grams: hyp 2, ref 3, match 2; 2-grams: hyp 1, ref 2, match 1; 3-grams: hyp 0 (not averaged)
  // P = (2/2 + 1/1)/2 = 1, R = (2/3 + 1/2)/2 = 7/12
  // chrF2 = 100 * 5 * 1 * 7/12 / (4 + 7/12) = 100 * 35/55 = 63.6363636363636
  CHECK(corpus_chrf({"ab"}, {{"abc"}}) == Approx(700.0 / 11).epsilon(1e-12));
  // Whitespace is removed before counting.
  CHECK(corpus_chrf({"a b"}, {{"ab"}}) == Approx(100.0));
}

TEST_CASE("chrF counts code points, not UTF-8 bytes", "[chrf]") {
  // hyp: é / ref: éa: 1-grams hyp 1, ref 2, match 1; no 2-gram in hyp
  // P = 1, R = 1/2: chrF2 = 100 * 5 * 1/2 / (4 + 1/2) = 500/9 = 55.5555555555556
  CHECK(corpus_chrf({"\xc3\xa9"}, {{"\xc3\xa9" "a"}}) == Approx(500.0 / 9).epsilon(1e-12));
}

TEST_CASE("chrF sums statistics over the corpus and keeps each segment's best reference", "[chrf]") {
  // segments (ab | abc) and (ab | ab): 1-grams hyp 4, ref 5, match 4; 2-grams 2, 3, 2
  // P = 1, R = (4/5 + 2/3)/2 = 11/15: chrF2 = 100 * 5 * 11/15 / (4 + 11/15) = 5500/71 = 77.4647887323944
  // (the mean of the sentence scores would be 81.8)
  CHECK(corpus_chrf({"ab", "ab"}, {{"abc", "ab"}}) == Approx(5500.0 / 71).epsilon(1e-12));
  CHECK(corpus_chrf({"ab"}, {{"abc"}, {"ab"}}) == Approx(100.0));
  CHECK(corpus_chrf({"ab"}, {{"ab"}, {"abc"}}) == Approx(100.0));
}

TEST_CASE("a reference stream must be as long as the hypotheses", "[bleu]") {
  CHECK_THROWS_AS(corpus_bleu({"a", "b"}, {{"a"}}), std::invalid_argument);
  CHECK_THROWS_AS(corpus_chrf({"a"}, {}), std::invalid_argument);
}
