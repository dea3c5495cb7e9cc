"""Windows of linked evidence and their scores.

A signal in one message means little; a vendor named by one person, a proposal to
scrub it by another and "take it to DM" from a third mean a lot, when they answer each
other. Candidate messages are grouped into windows of linked evidence (one episode, the
exchange the episode step put them in), and each window is scored as a whole:

* every distinct rule counts once, at its weight, combined as a noisy-OR;
* a window reaches medium or high only when hiding (concealment, evasion, secrecy)
  and its subject both appear in it: a third-party API; or its data by two kinds of
  evidence; or model data and concealment of where data came from (provenance words,
  or claims of another origin), since hiding the origin is itself the subject;
* words that everyday work talk uses all the time (a rule marked `weak`: "quota", "DM me",
  删掉, 换成) never open that gate alone and never name the subject; they add weight to a window
  that other evidence ties together, and open the gate only when several kinds of them come
  from more than one person in an exchange that also shows awareness of a rule (corroboration);
* legitimacy signals (sign-off, PII masking, approval) pull the score down, each
  distinct term of a legitimacy rule counting (up to three);
* more speakers agreeing push it up a little.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from analyzers.rules import HIDING, NEUTRALIZERS, RuleSet

SEVERITY_THRESHOLDS = (("high", 0.75), ("medium", 0.45), ("low", 0.0))
UNGATED_CAP = 0.39  # below medium: no hiding tied to a vendor API in this window
MIN_HIT_SCORE = 0.3
LEGIT_TERMS_PER_RULE = 3
SPEAKER_BONUS = 0.05  # per extra speaker who adds a scoring signal
CORROBORATING_KINDS = 2  # kinds of everyday hiding words that, together and aware of a rule, count as hiding
TIED_WEAK_KINDS = 2  # kinds of everyday hiding words that, tied to their subject, count as hiding
REFERENCE_REACH, REFERENCE_SECONDS = 6, 300  # how far back hiding that points back finds its subject
# Rule families (a rule id without its language suffix) that say the talk is about where data came from.
PROVENANCE = "data.provenance"
SELF_REFERENCE = "data.self_reference"  # the vendor's name inside its own outputs
MODEL_OUTPUTS = "data.model_outputs"
DISCLOSURE = "legit.disclosed"
ORIGIN_RULES = (PROVENANCE, "conceal.claim_origin", "conceal.state_origin")
VENDOR_TERMS = "policy.vendor_terms"  # the provider's terms name the provider
SCRUTINY = "policy.scrutiny"  # a customer's, partner's or regulator's own check
LANGUAGE_SUFFIXES = ("_zh",)
CUE_WORDS = {"thread": "thread", "reply": "reply", "addresses": "mention", "addressed": "mention",
             "turns": "turn-taking", "partners": "turn-taking", "same-author": "same speaker",
             "words": "shared words", "adjacent": "adjacent turns"}


@dataclass(frozen=True)
class RuleInfo:
    """What scoring needs to know of a rule."""

    weight: float
    category: str
    weak: bool = False
    gist: str = ""
    with_subject: bool = False


Profile = dict[str, RuleInfo]


def profile_of(ruleset: RuleSet) -> Profile:
    return {r.id: RuleInfo(r.weight, r.category, r.weak, r.gist, r.with_subject) for r in ruleset.rules}


def family(rule_id: str) -> str:
    """data.provenance_zh and data.provenance are one kind of evidence in two languages."""
    for suffix in LANGUAGE_SUFFIXES:
        if rule_id.endswith(suffix):
            return rule_id[: -len(suffix)]
    return rule_id


@dataclass
class Signal:
    """One candidate message and what the matchers found in it."""

    message_id: str
    author: str
    timestamp: float  # epoch seconds, for windowing
    thread: str | None
    matches: list[dict]  # Match.as_dict() rows
    episode: str | None = None  # the exchange it belongs to (None: a message alone)
    parent: str | None = None  # the message it answers, as the episode step linked it
    cue: str = "start"  # why it was linked there
    sure: bool = False  # a link stated by the platform or a name, or made in a quiet channel
    part: str | None = None  # the part of the episode held together by such links
    position: int | None = None  # ordinal of the message in its conversation
    refers: bool = False  # it points back at something said before ("scrub it first", 那批)
    said: frozenset = frozenset()  # content words (Chinese character pairs) it says besides its matched words

    @property
    def says(self) -> int:
        return len(self.said)


@dataclass
class Assessment:
    score: float
    severity: str
    categories: list[str]
    rules: list[str]
    speakers: list[str]
    explanation: str
    gated: bool
    signals: list[Signal] = field(default_factory=list)
    evidence: list[Signal] = field(default_factory=list)  # the messages whose signals count: the hits
    everyday: set[str] = field(default_factory=set)  # evidence ids saying only everyday words: hits, but low
    gist: str = ""  # what was found, in a few words, for a case title


def severity_of(score: float) -> str:
    return next(name for name, floor in SEVERITY_THRESHOLDS if score >= floor)


def windows(signals: list[Signal], gap_seconds: float, max_size: int = 60) -> list[list[Signal]]:
    """Split one conversation's candidate messages into windows: linked evidence only.

    A window holds candidates of one episode (one exchange of the conversation, as the episode
    step linked it), so words said in another exchange of a busy channel never combine. Inside
    an episode a pause longer than `gap_seconds` starts a new window, except inside a thread.
    Windows are cut at `max_size`.
    """
    by_episode: dict[str, list[Signal]] = {}
    for s in sorted(signals, key=lambda s: (s.timestamp, s.message_id)):
        by_episode.setdefault(s.episode or f"message:{s.message_id}", []).append(s)
    out: list[list[Signal]] = []
    for members in by_episode.values():
        window: list[Signal] = []
        for s in members:
            if window and s.timestamp - window[-1].timestamp > gap_seconds and not (
                    s.thread and s.thread == window[-1].thread):
                out.append(window)
                window = []
            window.append(s)
        out.append(window)
    out = [w[k : k + max_size] for w in out for k in range(0, len(w), max_size)]
    return sorted(out, key=lambda w: (w[0].timestamp, w[0].message_id))


def join_references(signals: list[Signal], profile: Profile) -> list[Signal]:
    """Subject continuity where nothing links the messages: hiding talk that names no subject and points back
    ("don't merge it yet, that has to be scrubbed first", "进之前先洗一遍") takes its subject from the message
    that named one just before ("the GPT-4 pull is done"), a few messages and minutes earlier, as a person
    would read it. Only real hiding words do this, and words that hide only when aimed at a subject (paraphrase,
    脱敏), never other everyday ones; their episodes and parts become one."""
    ordered = sorted((s for s in signals if s.position is not None), key=lambda s: s.position)
    root: dict[str, str] = {}

    def find(x: str) -> str:
        while root.get(x, x) != x:
            x = root[x]
        return x

    previous: Signal | None = None  # the last message before that said anything the rules know
    for s in ordered:
        rules = [m["rule"] for m in s.matches]
        names = any(_is_subject(r, profile) for r in rules)
        hides = any(profile[r].category in HIDING and (not profile[r].weak or profile[r].with_subject)
                    for r in rules)
        # "it" is what was just said: only the message right before (among those saying anything) may be it.
        antecedent = previous if previous is not None and any(_is_subject(m["rule"], profile)
                                                               for m in previous.matches) else None
        if hides and not names and s.refers and antecedent is not None and antecedent.author != s.author \
                and s.position - antecedent.position <= REFERENCE_REACH \
                and s.timestamp - antecedent.timestamp <= REFERENCE_SECONDS:
            for mine, theirs in ((s.episode, antecedent.episode), (s.part, antecedent.part)):
                if mine and theirs and find(mine) != find(theirs):
                    root[find(mine)] = find(theirs)
        if any(_scores(profile[r].category) for r in rules):
            previous = s
    if not root:
        return signals
    for s in signals:
        s.episode = find(s.episode) if s.episode else s.episode
        s.part = find(s.part) if s.part else s.part
    return signals


def _scores(category: str) -> bool:
    return category not in NEUTRALIZERS and category != "LEGITIMACY"


def assess(window: list[Signal], profile: Profile) -> Assessment:
    """Score a window. When parts of it tie hiding to its subject, only those parts are the evidence: the
    rest of the episode, joined by guesses, neither adds to the score nor lowers it, nor becomes a hit."""
    gated_parts = [part for part in _surely_linked_parts(window) if _ties_hiding_to_subject(part, profile)]
    gated = bool(gated_parts)
    if gated:
        window = [s for s in window if any(s in part for part in gated_parts)]
    best: dict[str, RuleInfo] = {}  # rule -> its info, once per window
    legit_terms: dict[str, set[str]] = {}  # legitimacy rule -> distinct terms said where they qualify the hiding
    speakers_by_category: dict[str, set[str]] = {}
    qualifying = _qualifying(window, profile)
    for s in window:
        for m in s.matches:
            best[m["rule"]] = profile[m["rule"]]
            if m["category"] == "LEGITIMACY":
                if s.message_id not in qualifying:
                    continue  # innocence said about something else in the exchange
                legit_terms.setdefault(m["rule"], set()).add(m["term"].casefold())
            speakers_by_category.setdefault(m["category"], set()).add(s.author)
    positive = 1.0
    mitigation = 1.0
    withdrawn = _withdrawn(window, best)
    for rule, info in best.items():
        if info.category in NEUTRALIZERS:
            continue  # they already cancelled hiding matches in the matcher; they never score
        if info.category == "LEGITIMACY" and (rule in withdrawn or rule not in legit_terms):
            continue
        if info.category == "LEGITIMACY":
            # Several distinct reasons for innocence (a DPA, a sign-off, a notice) weigh more than one.
            mitigation *= (1 - info.weight) ** min(len(legit_terms[rule]), LEGIT_TERMS_PER_RULE)
        else:
            positive *= 1 - info.weight
    score = 1 - positive
    evidence = [s for s in window if any(_scores(m["category"]) for m in s.matches)]
    speakers = sorted({s.author for s in evidence})
    if len(speakers) > 1:
        score = min(1.0, score + SPEAKER_BONUS * (len(speakers) - 1))
    score *= mitigation
    if not gated:
        score = min(score, UNGATED_CAP)
    score = round(score, 3)
    return Assessment(
        score=score,
        severity=severity_of(score),
        categories=sorted(speakers_by_category),
        rules=sorted(best),
        speakers=speakers,
        explanation=explain(score, speakers_by_category, window, gated, best),
        gated=gated,
        signals=window,
        evidence=evidence,
        everyday={s.message_id for s in evidence
                  if all(best[m["rule"]].weak for m in s.matches if _scores(m["category"]))},
        gist=_gist(window, best),
    )


def _qualifying(window: list[Signal], profile: Profile) -> set[str]:
    """Messages whose legitimacy words qualify the hiding talk: the hiding messages themselves, the messages
    surely linked to them, and what their speakers say ("legal signed off" from the one who proposed it)."""
    hiding = {s.message_id for s in window if any(profile[m["rule"]].category in HIDING for m in s.matches)}
    speakers = {s.author for s in window if s.message_id in hiding}
    near = _surely_linked(window)
    return {s.message_id for s in window
            if s.message_id in hiding or near[s.message_id] & hiding or s.author in speakers}


def _ties_hiding_to_subject(part: list[Signal], profile: Profile) -> bool:
    """The gate to medium: hiding and its subject in messages surely linked to each other."""
    said = {m["rule"] for s in part for m in s.matches}
    best = {rule: profile[rule] for rule in said}
    promoted = _aimed_at_origin(part, best) | _said_with_subject(part, best)
    naming = [s for s in part if any(_is_subject(m["rule"], best) for m in s.matches)]
    elsewhere = {s.message_id for s in part if _secrecy_about_something_else(s, best, _topic_before(s, naming))}
    # "my lips are sealed, this stays off the record" answering "off the record: the new chairs are amazing"
    # (or in its thread) keeps the same news quiet.
    elsewhere |= {s.message_id for s in part if _only_secrecy(s, best) and ({s.parent, s.thread} & elsewhere)}
    hiding = {m["rule"] for s in part if not _innocent_without_subject(s, best) and s.message_id not in elsewhere
              for m in s.matches}
    strong = {rule: best[rule] for rule in said if (not best[rule].weak or rule in promoted)
              and (best[rule].category not in HIDING or rule in hiding)}
    return _names_the_subject(strong) and (
        any(info.category in HIDING for info in strong.values())
        or _tied_to_subject(part, best) or _hidden_from_scrutiny(part, best) or _corroborated(part, best))


def _surely_linked_parts(window: list[Signal]) -> list[list[Signal]]:
    """The window cut where its links are only guesses (a speaker going on, a shared word in a busy
    channel): the parts of its episode held together by links the platform or a name states, or made
    in a quiet channel (the episode step names each part, messages between candidates included)."""
    parts: dict[str, list[Signal]] = {}
    for s in window:
        parts.setdefault(s.part or s.message_id, []).append(s)
    return list(parts.values())


def _surely_linked(window: list[Signal]) -> dict[str, set[str]]:
    """Message id -> ids of the window's messages it is surely linked to: its parent or its replies when
    the platform or a name says so, or when the channel was quiet enough to trust the linker's guess."""
    ids = {s.message_id for s in window}
    near: dict[str, set[str]] = {s.message_id: set() for s in window}
    for s in window:
        if s.parent in ids and s.sure:
            near[s.message_id].add(s.parent)
            near[s.parent].add(s.message_id)
    return near


def _tied_to_subject(window: list[Signal], best: Profile, kinds: int = 0) -> bool:
    """Everyday hiding words tied to their subject: "那个用kimi接口跑数据的事周会上要说吗" answered by "私聊" and
    "电话说吧"; "delete that" said right after the script that loops the vendor's API over trial keys, then
    "not here". Two kinds of them at least (deleting twice is still deleting), said in the message that names
    the subject or in the messages surely linked to it: not anywhere in a long thread."""
    near = _surely_linked(window)
    by_id = {s.message_id: s for s in window}
    for s in window:
        if not any(_is_subject(m["rule"], best) for m in s.matches):
            continue
        around = {s.message_id} | near[s.message_id]
        weak_kinds = {family(rule) for mid in around for rule in _everyday_hiding(by_id[mid], best)}
        if len(weak_kinds) >= (kinds or TIED_WEAK_KINDS):
            return True
    return False


def _explains_itself(s: Signal, best: Profile) -> bool:
    """The message says why it is innocent (PII masking, a sign-off, a disclosure): its own everyday words,
    worries and checks are read in that light."""
    return any(best[m["rule"]].category == "LEGITIMACY" for m in s.matches)


def _innocent_without_subject(s: Signal, best: Profile) -> bool:
    """A message that says why its hiding words are innocent ("scrub the real phone numbers from the test
    fixtures before merging") hides only what it names itself: it does not take a vendor named elsewhere
    in the thread as its object."""
    return _explains_itself(s, best) and not any(_is_subject(m["rule"], best) for m in s.matches)


SAYS_ITS_OWN = 3  # content words beside its secrecy words for a message to be about what it says itself


def _topic_before(s: Signal, naming: list[Signal]) -> frozenset:
    """What the messages naming the subject that `s` answers, or that came just before it, speak of."""
    return frozenset().union(*(n.said for n in naming if n is not s and (
        n.message_id == s.parent or (n.position is not None and s.position is not None
                                     and 0 < s.position - n.position <= REFERENCE_REACH))))


def _secrecy_about_something_else(s: Signal, best: Profile, topic: frozenset = frozenset()) -> bool:
    """Secrecy is about what it is said of: "off the record: the new chairs are amazing" keeps its own news
    quiet and does not take a vendor named elsewhere in the exchange as its object. Secrecy that says
    nothing of its own, points back ("keep this between the three of us"), or speaks of what the messages
    naming the subject speak of (`topic`: "the DeepSeek dump" ... "keep the dump location between us") is
    about what it answers."""
    return _only_secrecy(s, best) and not s.refers and s.says >= SAYS_ITS_OWN and not s.said & topic


def _only_secrecy(s: Signal, best: Profile) -> bool:
    """Its hiding words are secrecy alone, and it names no subject."""
    rules = [m["rule"] for m in s.matches]
    hiding = [r for r in rules if best[r].category in HIDING]
    return bool(hiding) and all(best[r].category == "SECRECY" for r in hiding) and not any(
        _is_subject(r, best) for r in rules)


def _everyday_hiding(s: Signal, best: Profile) -> set[str]:
    """The everyday hiding words of a message, unless the message says itself why they are innocent:
    "调用豆包接口前一定要先做 PII 脱敏" is masking personal data, not hiding the vendor."""
    if _explains_itself(s, best):
        return set()
    return {m["rule"] for m in s.matches if best[m["rule"]].weak and best[m["rule"]].category in HIDING}


def _hidden_from_scrutiny(window: list[Signal], best: Profile) -> bool:
    """One kind of everyday hiding is enough when it is tied to the subject and the exchange names the
    scrutiny it is for: "Drop that row for the exhibit version" after "that one still lists Anthropic" in
    talk of the customer's procurement and its no-LLM-vendor clause."""
    return _aware(window, best, SCRUTINY) and _tied_to_subject(window, best, kinds=1)


def _aware(window: list[Signal], best: Profile, kind: str | None = None) -> bool:
    """The exchange knows a rule or a check is there (of one rule family, if `kind`), said as a worry, not
    as the check passed: "legal confirmed, it's in the DPA annex" is compliance done, not evaded. A quota
    (a weak rule) is everyday work, not a rule known to be broken."""
    return any(best[m["rule"]].category == "POLICY_AWARENESS" and not best[m["rule"]].weak
               and (kind is None or family(m["rule"]) == kind)
               for s in window if not _explains_itself(s, best)
               for m in s.matches)


def _is_subject(rule: str, best: Profile) -> bool:
    """A vendor, what its model produced (outputs, self-references), or where data came from; not any dataset."""
    info = best[rule]
    return not info.weak and (info.category == "THIRD_PARTY_API" or family(rule) in (PROVENANCE, SELF_REFERENCE,
                                                                                     MODEL_OUTPUTS))


def _withdrawn(window: list[Signal], best: Profile) -> set[str]:
    """Disclosure that the exchange takes back: "partially generated with Gemini" answered by concealment
    aimed at it ("删掉这句吧") no longer makes the exchange innocent. Only disclosure, and only answered."""
    concealing_replies = {s.parent for s in window if s.sure
                          and any(best[m["rule"]].category == "CONCEALMENT" for m in s.matches)}
    return {m["rule"] for s in window if s.message_id in concealing_replies
            for m in s.matches if family(m["rule"]) == DISCLOSURE}


def _said_with_subject(window: list[Signal], best: Profile) -> set[str]:
    """Words like 脱敏 / desensitise / paraphrase: routine for personal data and for augmentation, hiding when
    the message itself names the vendor or its data ("GPT-4 生成的数据先脱敏再进训练集"), or points back at it
    from its own exchange ("the GPT-4 pull is done" ... "paraphrase them first")."""
    naming = [s for s in window if any(_is_subject(m["rule"], best) for m in s.matches)]
    named = {s.message_id for s in naming}
    return {m["rule"] for s in window if (s.message_id in named or _points_back_at(s, naming))
            and not _explains_itself(s, best)  # "先做 PII 脱敏"
            for m in s.matches if best[m["rule"]].with_subject}


def _points_back_at(s: Signal, naming: list[Signal]) -> bool:
    """It points back ("them", 那批) at a message of its own exchange part that named the subject just before."""
    return s.refers and s.position is not None and any(
        n.part == s.part and n.position is not None and 0 < s.position - n.position <= REFERENCE_REACH
        for n in naming)


def _aimed_at_origin(window: list[Signal], best: Profile) -> set[str]:
    """Everyday hiding words whose object is where data came from: "source tag, keep it?" answered by
    "不留", or "delete" said in the same message as "the lineage". Deleting is everyday; deleting the
    provenance is not. Only the same message or a reply to it counts."""
    origin = {s.message_id for s in window
              if any(family(m["rule"]) == PROVENANCE for m in s.matches)}
    if not origin:
        return set()
    aimed = set()
    for s in window:
        if s.message_id in origin or s.parent in origin:
            aimed.update(m["rule"] for m in s.matches
                         if best[m["rule"]].weak and best[m["rule"]].category in ("CONCEALMENT", "SECRECY"))
    return aimed


def _corroborated(window: list[Signal], best: Profile) -> bool:
    """Everyday hiding words stand for hiding only together: several kinds of them ("delete the scripts",
    "squash the history", "let's talk offline"), from more than one person, in an exchange that also
    knows it is breaking a rule ("their terms don't allow it", 审计)."""
    kinds, speakers, hiding = set(), set(), set()
    for s in window:
        rules = _everyday_hiding(s, best)
        if rules:
            kinds.update(family(rule) for rule in rules)
            speakers.add(s.author)
            hiding.add(s.message_id)
    if not (_aware(window, best) and len(kinds) >= CORROBORATING_KINDS and len(speakers) >= 2):
        return False
    # ...and about the subject: one of them says it or answers (or is answered by) the message that does, so
    # "delete my local copy" three turns before a reading-group post on GPT-written text is not about it.
    near = _surely_linked(window)
    return any(({s.message_id} | near[s.message_id]) & hiding for s in window
               if any(_is_subject(m["rule"], best) for m in s.matches))


def _names_the_subject(strong: Profile) -> bool:
    """A vendor API is named, or its data is, by two different kinds of evidence (e.g. outputs and distillation),
    or model data is there and concealment is about its origin ("keep the lineage vague", "don't name the model").

    One generic data word ("dataset", "corpus") is not enough to tie hiding talk to a vendor, nor is one kind
    said in two languages.
    """
    categories = [info.category for info in strong.values()]
    data_kinds = {family(rule) for rule, info in strong.items() if info.category == "API_DATA"}
    if "THIRD_PARTY_API" in categories or len(data_kinds) >= 2:
        return True
    if SELF_REFERENCE in data_kinds:
        return True  # "I'm Claude" in the samples: whose data it is, said by the data itself
    if data_kinds and any(family(rule) == VENDOR_TERMS for rule in strong):
        return True  # "the output-use clause" and "the generation jobs": the provider's data, named by its terms
    about_origin = any(family(rule) in ORIGIN_RULES for rule in strong)
    return about_origin and bool(data_kinds) and "CONCEALMENT" in categories


def _quote(window: list[Signal], category: str, limit: int = 2) -> str:
    terms: list[str] = []
    for s in window:
        for m in s.matches:
            if m["category"] == category and m["term"] not in terms:
                terms.append(m["term"])
    return ", ".join(f"'{t}'" for t in terms[:limit])


def _gist(window: list[Signal], best: Profile) -> str:
    """'Relabelling and moving off the record about 'GPT-4o', 'outputs'': the hiding found and its subject."""
    said = [rule for s in window for m in s.matches for rule in [m["rule"]]]
    hiding = sorted({rule for rule in said if best[rule].category in HIDING},
                    key=lambda r: (best[r].weak, -best[r].weight, r))
    gists = list(dict.fromkeys(best[r].gist or best[r].category.lower() for r in hiding))[:3]
    subject = _quote(window, "THIRD_PARTY_API") or _quote(window, "API_DATA")
    what = (", ".join(gists[:-1]) + " and " + gists[-1]) if len(gists) > 1 else (gists[0] if gists else "signals")
    what = what[0].upper() + what[1:]
    return f"{what} about {subject}" if subject else what


def explain(score: float, speakers_by_category: dict[str, set[str]], window: list[Signal], gated: bool,
            best: Profile) -> str:
    parts = []
    for category in sorted(speakers_by_category):
        who = ", ".join(sorted(speakers_by_category[category]))
        name = category.lower().replace("_", " ")
        if category in NEUTRALIZERS:
            name = f"hiding talk set aside as {name}"
        parts.append(f"{name} ({_quote(window, category)} by {who})")
    n = len(window)
    links = sorted({CUE_WORDS[s.cue] for s in window[1:] if s.cue in CUE_WORDS})
    linked = f" linked by {', '.join(links)}" if n > 1 and links else ""
    sentence = f"Score {score:.2f} over {n} message{'s' if n != 1 else ''}{linked}: " + "; ".join(parts)
    if not gated:
        if any(best[r].category in HIDING and best[r].weak for r in best) and not any(
                best[r].category in HIDING and not best[r].weak for r in best):
            sentence += "; capped below medium because its hiding words are everyday talk"
        else:
            sentence += "; capped below medium because no hiding is tied to a third-party API or its data"
    return sentence + "."
