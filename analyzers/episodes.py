"""A busy channel split into exchanges ("episodes"), message by message.

Several exchanges run at once in a busy channel; evidence must only combine inside one.
Every message of a conversation, read in order, is linked to the earlier message it most
likely answers, or starts an episode of its own. An episode is a tree of such links, named
by its first message.

Cues, roughly strongest first:
* the platform says so: a thread reply belongs to its thread, an explicit reply to its target;
* the message addresses someone (``@name``, or ``name:`` / ``name,`` at its start): it answers
  that person's latest message;
* someone recently addressed its author: it answers that message;
* the two people were linked by a name or a reply a moment ago (an exchange under way);
* its author goes on: their own latest message;
* words the two messages share that the conversation seldom uses;
* plain adjacency, worth only as much as the channel is quiet: when one exchange is going on,
  the previous message is probably the one answered; with five at once it is a guess.
Distance is counted in messages, not only in minutes, so "close" means the same thing in a
quiet and in a busy channel; and in the timeline the message was read in: a thread's replies sit in
their thread, not between two messages of the channel (Slack, Teams and Mattermost show them apart).

The linker is streaming and bounded: it keeps the last few dozen messages and a bounded
index of thread roots, and decides each message as it arrives. Each message gets one
parent, so its episode is known at once and never changes. (Looking ahead for a pair
taking turns, or for the answer to a question, was tried and lowered link F1 on the real
IRC gold, so it is not done.)
"""

from __future__ import annotations

import math
import re
from collections import Counter, OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from analyzers.ids import episode_id

USER = "user"
EXPLICIT = ("thread", "reply", "addresses", "addressed")  # cues the message itself states


@dataclass(frozen=True)
class Weights:
    """How much each cue counts toward "m answers p"; a link needs `threshold`."""

    addresses: float = 8.0  # m names p's author
    addressed: float = 4.8  # p named m's author
    partners: float = 1.2  # m's and p's authors were linked a moment ago
    same_author: float = 1.8  # m's author goes on from their latest message
    words: float = 3.2  # times the share of rare words
    adjacent: float = 1.5  # previous message; divided by how many others spoke just now
    distance: float = 0.35  # per log(1 + messages between)
    minutes: float = 0.02  # per minute between
    threshold: float = 1.0


@dataclass(frozen=True)
class Limits:
    lookback: int = 40  # user messages a link may reach back over
    max_gap: float = 3 * 3600.0  # seconds a link may span (threads and replies excepted) ...
    words_gap: float = 3 * 86400.0  # ... unless the two share rare words, up to this far apart
    words_alone: float = 0.35  # how much rare vocabulary they must share then
    words_quiet: int = 10  # ... and at most this many messages may lie between
    own_reach: int = 2  # messages between a person's two messages for the second to surely go on from the first
    own_gap: float = 120.0  # ... and seconds
    addressed_reach: int = 5  # messages after a naming within which answering it is a sure link
    busy_window: int = 8  # last user messages whose authors say how many exchanges run at once
    busy_span: float = 1800.0  # ... when said within this many seconds
    people_per_exchange: float = 1.5
    pace_span: float = 300.0  # seconds over which the pace of the channel is counted
    exchange_pace: float = 1.0  # messages one exchange says in that time
    quiet: float = 1.5  # exchanges at once up to which a guessed link is trusted like a stated one ...
    quiet_pace: int = 2  # ... if no more messages than this were said in the last pace_span
    adjacent_gap: float = 1800.0  # seconds within which the previous message may be answered with no other cue
    partner_span: int = 20  # messages for which a linked pair stays "in an exchange"
    remembered: int = 100_000  # message ids kept for thread and reply lookups
    conversations_held: int = 5_000  # linkers one stream keeps at once (a mailbox's threads), least recent let go


@dataclass(slots=True)
class Turn:
    """What the linker needs of a message."""

    id: str
    author: str
    name: str
    when: float
    text: str = ""
    thread: str | None = None  # thread root id (a root's thread is itself)
    reply_to: str | None = None
    kind: str = USER


@dataclass(frozen=True, slots=True)
class Link:
    position: int  # ordinal of the message in its conversation, from 0
    episode: str  # id of the episode's first message
    parent: str | None  # the message it answers; None when it starts an episode
    cue: str  # why: thread, reply, addresses, addressed, partners, same-author, words, adjacent, start
    sure: bool = False  # stated by the platform or a name, or guessed in a channel quiet enough to trust it
    part: str = ""  # id of the first message of the part of the episode held together by sure links


@dataclass(slots=True)
class _Node:
    turn: Turn
    link: Link
    index: int  # count of user messages before it
    main: int  # count of the channel's own user messages (thread replies left out) before it; -1 for a reply
    words: frozenset
    addressees: frozenset


STOPWORDS = frozenset("""
a about above after again all also am an and any are as at be because been before being below between both but by
can could did do does doing done down during each else even ever every few for from further get got had has have
having he her here hers him his how i if in into is it its itself just know let like may me might more most much
must my no nor not now of off ok okay on once one only or other our ours out over own please really right same say
see she should so some still such sure than thank thanks that the their them then there these they thing think this
those though through to too up us very want was way we well were what when where which while who whom why will with
would yeah yes yet you your yours
""".split())  # noqa: SIM905 - a word list reads better as text
WORD = re.compile(r"[a-z0-9][a-z0-9_\-.]*[a-z0-9]|[\u4e00-\u9fff]+")
AT_NAME = re.compile(r"@([\w.\-\u4e00-\u9fff]+)(?:[ \u00a0]([\w.\-]+))?")
EVERYONE = frozenset(("here", "channel", "everyone", "all"))
UNKNOWN = "\x00"  # prefix of an @name nobody here has been called yet (they may answer later)
LEADING_NAME = re.compile(r"^\s*([^\s:,，：@][^\s:,，：]{0,40}?)(?:[ ]([^\s:,，：]{1,40}))?\s*[:,，：]\s")


def words_of(text: str) -> frozenset:
    """Content words (three letters or more, no stopwords) and Chinese character pairs."""
    out = set()
    for w in WORD.findall(text.casefold()):
        if w[0] >= "\u4e00":
            out.update(w[i : i + 2] for i in range(len(w) - 1))
        elif len(w) >= 3 and w not in STOPWORDS and not w.isdigit():
            out.add(w)
    return frozenset(out)


@dataclass
class _Names:
    """Names people are called by in this conversation (display names and their first word) -> author."""

    known: dict[str, str] = field(default_factory=dict)

    def learn(self, turn: Turn) -> None:
        name = turn.name.casefold().strip()
        if name:
            self.known[name] = turn.author
            first = name.split()[0]
            self.known.setdefault(first, turn.author)
        self.known.setdefault(turn.author.casefold(), turn.author)

    def addressees(self, text: str, speaker: str) -> frozenset:
        """Who the message is addressed to: authors, or UNKNOWN + name for an @name not yet heard from."""
        found = set()
        if "@" in text:
            for one, two in AT_NAME.findall(text):
                if not self._add(found, one, two) and one.casefold() not in EVERYONE:
                    found.add(UNKNOWN + one.casefold().rstrip("."))
        lead = LEADING_NAME.match(text)
        if lead:
            self._add(found, *lead.groups())
        found.discard(speaker)
        return frozenset(found)

    def _add(self, found: set, one: str, two: str | None) -> bool:
        one = one.casefold().rstrip(".")
        who = (two and self.known.get(f"{one} {two.casefold()}")) or self.known.get(one)
        if who:
            found.add(who)
        return bool(who)


def _called(turn: Turn) -> frozenset:
    """How an @mention written before this person spoke would have named them."""
    name = turn.name.casefold().strip()
    return frozenset(UNKNOWN + n for n in (name, name.split()[0] if name else "") if n)


class Linker:
    """Links the messages of one conversation, fed in order; see the module docstring."""

    def __init__(self, weights: Weights = Weights(), limits: Limits = Limits()):
        self.w, self.limits = weights, limits
        self.position = 0
        self.users_seen = 0
        self.main_seen = 0  # user messages in the channel's own timeline, not in a thread
        self.recent: deque[_Node] = deque(maxlen=limits.lookback)
        self.index: OrderedDict[str, tuple[str, str]] = OrderedDict()  # message id -> (episode, part)
        self.thread_last: OrderedDict[str, tuple[str, str]] = OrderedDict()  # thread -> (last id, episode)
        self.pairs: dict[frozenset, int] = {}  # author pairs linked by a name or reply -> user index of that link
        self.names = _Names()
        self.df: Counter = Counter()

    def link(self, turn: Turn) -> Link:
        """The next message's link; messages must come in conversation order."""
        position = self.position
        self.position += 1
        if turn.kind != USER:  # joins, bots and system events are noise: an episode of their own
            link = Link(position, turn.id, None, "start", part=turn.id)
            self._remember(turn, link)
            return link
        self.names.learn(turn)
        return self._decide(turn, position)

    def link_all(self, turns: Iterable[Turn]) -> list[tuple[Turn, Link]]:
        return [(turn, self.link(turn)) for turn in turns]

    # -- deciding ----------------------------------------------------------------------------
    def _decide(self, turn: Turn, position: int) -> Link:
        words = words_of(turn.text)
        addressees = self.names.addressees(turn.text, turn.author)
        parent, cue, sure = self._explicit(turn)
        part = self._part_of(parent) if parent is not None else ""
        if parent is None:
            parent, cue, sure, part = self._best(turn, words, addressees)
        if parent is None:
            link = Link(position, turn.id, None, "start", part=turn.id)
        else:
            link = Link(position, self._episode_of(parent), parent, cue, sure, part if sure else turn.id)
        in_thread = bool(turn.thread and turn.thread != turn.id)
        node = _Node(turn, link, self.users_seen, -1 if in_thread else self.main_seen, words, addressees)
        if link.cue in EXPLICIT and (p := self._recent_node(link.parent)) is not None \
                and p.turn.author != turn.author:
            # only pairs the platform or a name put together: guessed links must not breed more guesses
            self.pairs[frozenset((p.turn.author, turn.author))] = self.users_seen
        self.users_seen += 1
        self.main_seen += not in_thread
        self.recent.append(node)
        self.df.update(words)
        self._remember(turn, link)
        return link

    def _explicit(self, turn: Turn) -> tuple[str | None, str, bool]:
        """Thread replies and explicit replies: what the platform recorded."""
        if turn.thread and turn.thread != turn.id:
            last = self.thread_last.get(turn.thread)
            return (last[0] if last else turn.thread), "thread", True
        if turn.reply_to and turn.reply_to != turn.id:
            return turn.reply_to, "reply", True
        return None, "", False

    def _episode_of(self, message_id: str) -> str:
        # A target we no longer (or never) saw still names one episode for all its replies.
        return self.index.get(message_id, (message_id, message_id))[0]

    def _part_of(self, message_id: str) -> str:
        return self.index.get(message_id, (message_id, message_id))[1]

    def _remember(self, turn: Turn, link: Link) -> None:
        self._bounded_put(self.index, turn.id, (link.episode, link.part))
        if turn.thread:
            self._bounded_put(self.thread_last, turn.thread, (turn.id, link.episode))

    def _bounded_put(self, table: OrderedDict, key, value) -> None:
        table[key] = value
        table.move_to_end(key)
        if len(table) > self.limits.remembered:
            table.popitem(last=False)

    def _recent_node(self, message_id: str) -> _Node | None:
        for node in reversed(self.recent):
            if node.turn.id == message_id:
                return node
        return None

    def _best(self, turn: Turn, words: frozenset, addressees: frozenset) -> tuple[str | None, str, bool, str]:
        if not self.recent:
            return None, "", False, ""
        w, limits = self.w, self.limits
        latest_by: dict[str, _Node] = {}  # each person's latest message: in the channel's timeline ...
        latest_reply_by: dict[str, _Node] = {}  # ... and in a thread
        anchored_by: dict[str, _Node] = {}  # each person's latest message that is not a mere guess
        for node in self.recent:
            (latest_by if node.main >= 0 else latest_reply_by)[node.turn.author] = node
            if node.link.sure or node.link.parent is None:
                anchored_by[node.turn.author] = node
        # How many exchanges run at once: the other people among the last few messages, a couple per
        # exchange; but no more than the pace allows (four people taking turns every few minutes are one).
        lately = {n.turn.author for n in list(self.recent)[-limits.busy_window:]
                  if turn.when - n.turn.when <= limits.busy_span and n.turn.author != turn.author}
        pace = sum(1 for n in self.recent if turn.when - n.turn.when <= limits.pace_span)
        busy = max(1.0, min(len(lately) / limits.people_per_exchange, pace / limits.exchange_pace))
        similarity = self._similarity_to(words, max(1, self.users_seen))
        called = _called(turn)
        best, best_cue, best_score, best_between = None, "", w.threshold, 0
        newest, newest_main = self.recent[-1].index, self.main_seen - 1
        for node in reversed(self.recent):
            gap = turn.when - node.turn.when
            if gap > limits.words_gap:
                break
            in_thread = node.main < 0
            between = newest - node.index if in_thread else newest_main - node.main
            author = node.turn.author
            is_latest = (latest_reply_by if in_thread else latest_by).get(author) is node
            cues: list[tuple[float, str]] = []
            if gap > limits.max_gap:
                if between > limits.words_quiet:
                    continue  # in busy talk, the same rare words recur in other exchanges
                # Hours or days later only rare words said again ("老地方的数据") still tie back.
                sim = similarity(node.words, words & node.words) if words & node.words else 0
                if sim >= limits.words_alone and (score := w.words * sim - w.distance * math.log1p(between)) \
                        > best_score:
                    best, best_score, best_cue = node, score, "words"
                continue
            if in_thread:
                # A channel message answers a thread reply only by naming its author (or being named by it).
                if author != turn.author and is_latest and author in addressees:
                    cues.append((w.addresses, "addresses"))
                if author != turn.author and (turn.author in node.addressees or called & node.addressees):
                    cues.append((w.addressed / (1 + 0.15 * between), "addressed"))
            elif author == turn.author:
                if is_latest:
                    cues.append((w.same_author, "same-author"))
            else:
                # A message addressed to someone else is not an answer to whoever spoke last, except in a quiet
                # channel after a message to no one in particular: "别申请了，@娜娜 用两个子公司的账号跑" answers
                # it and hands it on.
                undirected = not addressees or author in addressees or (busy <= limits.quiet and not node.addressees)
                if is_latest and author in addressees:
                    cues.append((w.addresses, "addresses"))
                if turn.author in node.addressees or called & node.addressees:
                    cues.append((w.addressed / (1 + 0.15 * between), "addressed"))
                if undirected and is_latest and (last_pair := self.pairs.get(frozenset((author, turn.author)))) \
                        is not None and self.users_seen - last_pair <= limits.partner_span:
                    cues.append((w.partners, "partners"))
                if undirected and between == 0 and gap <= limits.adjacent_gap:
                    cues.append((w.adjacent / busy, "adjacent"))
            if words and node.words and not in_thread:
                shared = words & node.words
                if shared:
                    sim = similarity(node.words, shared)
                    if sim > 0.05:
                        cues.append((w.words * sim, "words"))
            if not cues:
                continue
            score = sum(c for c, _ in cues) - w.distance * math.log1p(between) - w.minutes * gap / 60
            if score > best_score:
                best, best_score, best_between = node, score, between
                best_cue = max(cues)[1]
        if best is None:
            return None, "", False, ""
        # A person going straight on (the next message or two, within a couple of minutes) is trusted too.
        own = best.turn.author == turn.author and best_between <= limits.own_reach \
            and turn.when - best.turn.when <= limits.own_gap
        # Someone who named me long ago is a weaker reason than someone who just did.
        stated = best_cue in EXPLICIT and (best_cue != "addressed" or best_between <= limits.addressed_reach)
        quiet = busy <= limits.quiet and pace <= limits.quiet_pace
        sure = stated or quiet or own
        # Naming someone answers their latest message; if that one was side talk the linker only guessed
        # at, the exchange they stood in is that of their latest message that was not.
        anchor = anchored_by.get(best.turn.author, best) if best_cue == "addresses" else best
        return best.turn.id, best_cue, sure, anchor.link.part

    def _similarity_to(self, words: frozenset, n_docs: int):
        """Idf-weighted cosine of `words` with another message's words. Document frequencies do not
        change while one message is linked, so each word's idf and this message's own sum are worked
        out once for all the messages it is compared with (the linker's hottest loop)."""
        idf = _Idf(self.df, n_docs)
        # fsum: a set's order changes with each process's string hashing; an exactly rounded sum does not.
        own = math.fsum(map(idf.__getitem__, words))

        def similarity(other: frozenset, shared: frozenset) -> float:
            num = math.fsum(map(idf.__getitem__, shared))
            den = math.sqrt(own * math.fsum(map(idf.__getitem__, other)))
            return num / den if den else 0.0

        return similarity


class _Idf(dict):
    """word -> its inverse document frequency, worked out on first use."""

    def __init__(self, df: Counter, n_docs: int):
        super().__init__()
        self.df, self.n_docs = df, n_docs

    def __missing__(self, word: str) -> float:
        value = self[word] = math.log((self.n_docs + 1) / (self.df.get(word, 0) + 1))
        return value


def turn_of(doc: dict) -> Turn:
    """The linker's view of a normalised message."""
    author = doc.get("author") or {}
    message = doc["message"]
    return Turn(
        id=message["id"],
        author=author.get("id") or author.get("name") or "",
        name=author.get("name") or "",
        when=doc["timestamp"]["epoch"],
        text=message.get("text") or "",
        thread=(doc.get("thread") or {}).get("id"),
        reply_to=doc.get("reply_to"),
        kind=message.get("kind", USER),
    )


class Disentangler:
    """Episodes for the messages of one stream (a conversation's files, or a file of many conversations).

    Sets on each message `message.position` (its ordinal in the conversation, running on across
    files) and `episode.{id, parent, cue, sure, part}`; the ids are stable for the same input.
    """

    def __init__(self, weights: Weights = Weights(), limits: Limits = Limits()):
        self.weights, self.limits = weights, limits
        self.linkers: OrderedDict[tuple[str, str], Linker] = OrderedDict()  # least recently used first
        self.positions: dict[tuple[str, str], int] = {}  # of conversations whose linker was let go

    def add(self, doc: dict) -> dict:
        key = (doc["platform"], doc["conversation"]["id"])
        linker = self.linkers.get(key)
        if linker is None:
            linker = self.linkers[key] = Linker(self.weights, self.limits)
            linker.position = self.positions.pop(key, 0)
            if len(self.linkers) > self.limits.conversations_held:
                # A mailbox is one stream of thousands of threads: the one quiet longest is let go (its
                # positions run on if it speaks again), so memory stays bounded.
                old_key, old = self.linkers.popitem(last=False)
                self.positions[old_key] = old.position
        else:
            self.linkers.move_to_end(key)
        link = linker.link(turn_of(doc))
        doc["message"]["position"] = link.position
        doc["episode"] = {"id": episode_id(*key, link.episode), "parent": link.parent, "cue": link.cue,
                          "sure": link.sure, "part": episode_id(*key, link.part)}
        return doc
