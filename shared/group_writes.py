"""Group commit: single-document writes of many concurrent workers to one
collection, sent to the database together as one unordered ``bulk_write``.

Every acknowledged write here is journaled (``DURABLE``), and the server
holds the collection while it flushes its journal: measured on the local
server, 16 workers inserting one document each got ~40-900 documents/s
(the disk decides), 2 workers inserting 8 at a time ~700. Under load a
service's workers write at the same moments, so each write joins the ones
waiting: the first worker to find no write in flight leads - it sends what
is waiting (its own first), then hands the lead to the next waiter, whose
write went out with the next batch. At a trickle a batch is one write and
costs what the write alone would.

Inserts and updates batch differently. The local server writes a batch's
inserts in one transaction (one journal flush for all of them) but each
update in a transaction of its own, and while it works through a command
it holds the collection: a batch of 60 updates kept a single insert beside
it waiting 15-18 ms (8 at a time: 4-5 ms), so a station's report of 20 jobs
(40 steps for intake at once) stalled the submits of the moment. Inserts
and updates go in batches of their own (``GroupWriter``'s lanes): up to
``MOST_PER_BATCH`` inserts, up to ``MOST_UPDATES_PER_BATCH`` updates.

A batch answers per write only what ``bulk_write`` answers per write: its
error (a duplicate key comes back to its writer as ``DuplicateKeyError``)
and, for the batch, the modified count. A guarded update whose batch
modified fewer documents than it held does not know whether it was one of
those modified (``Outcome.certain`` is False): its writer decides alone.

``GroupReader`` does the same for reads by one indexed field (a citizen's
status lookup by tracking code): the values waiting go as one ``find``
with ``$in``. Each command costs the local server more than the lookup in
it - it parses, dispatches and checks profiling under its one storage lock
for every command - and at a peak hundreds of lookups a second each took
a server thread of their own.

``Gatherings`` goes one step further for writes to one document that come
within a moment of each other (a document printed, its pickup window and
the notice of it: three events of one application within ~50 ms): the
first waits ``linger`` seconds for the others, then one function writes
them all, as one update where it can.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass

from pymongo import InsertOne, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure, WTimeoutError

# MongoDB's error code for a duplicate key (a write error in a bulk's answer)
DUPLICATE_KEY = 11000
MOST_PER_BATCH = 64
MOST_UPDATES_PER_BATCH = 8
MOST_PER_READ = 64


@dataclass(frozen=True)
class Outcome:
    """What a write's batch says of it: ``modified`` is certain only when
    every update of the batch modified its document."""
    modified: bool
    certain: bool


class Waiter:
    __slots__ = ("operation", "done", "outcome", "error", "lead")

    def __init__(self, operation):
        self.operation, self.done = operation, threading.Event()
        self.outcome, self.error, self.lead = None, None, False


class Group:
    """Work of many workers sent in batches of at most ``most``: the first
    worker to find nothing in flight leads - it sends what is waiting (its
    own first, ``_take``, ``_settle``), then hands the lead to the next
    waiter, whose work went out with the next batch. An error ``_settle``
    raises reaches every worker of its batch."""

    def __init__(self, most: int):
        self.most = most
        self._lock = threading.Lock()
        self._waiting: list[Waiter] = []
        self._leading = False

    def _join(self, work):
        waiter = Waiter(work)
        with self._lock:
            self._waiting.append(waiter)
            lead = not self._leading
            self._leading = True
        if not lead:
            waiter.done.wait()
            if not waiter.lead:
                return _answer(waiter)
        self._send()
        return _answer(waiter)

    def _send(self) -> None:
        with self._lock:
            batch, self._waiting = self._take(self._waiting)
        try:
            self._settle(batch)
        except Exception as error:  # the database, not one worker's work: all get it
            for waiter in batch:
                waiter.error = error
        finally:
            with self._lock:
                following = self._waiting[0] if self._waiting else None
                self._leading = following is not None
            for waiter in batch:
                waiter.done.set()
            if following is not None:  # its work goes out next, sent by itself
                following.lead = True
                following.done.set()

    def _take(self, waiting: list[Waiter]) -> tuple[list[Waiter], list[Waiter]]:
        """The next batch from ``waiting``, and what stays waiting."""
        return waiting[:self.most], waiting[self.most:]

    def _settle(self, batch: list[Waiter]) -> None:
        """Do the batch's work; each waiter's ``outcome`` (or ``error``)."""
        raise NotImplementedError


class GroupWriter:
    """The group commit of one collection in one process (shared by its
    workers: ``shared.mongo.StoreWithOutbox`` keeps them): inserts and
    updates in lanes of their own, each with one batch in flight. An
    insert (a citizen's submit, waiting for its 202) never rides in a
    command behind updates (the steps of events, in the background): at 10
    applications/s beside the whole pipeline, the insert of a submit waited
    p50 99 / p90 265 ms in batches shared with up to 8 updates."""

    def __init__(self, collection, most: int = MOST_PER_BATCH,
                 most_updates: int = MOST_UPDATES_PER_BATCH):
        self.collection = collection
        self._inserts = Lane(collection, most)
        self._updates = Lane(collection, min(most, most_updates))

    def write(self, operation) -> Outcome:
        """Send ``operation`` (a pymongo ``InsertOne``/``UpdateOne``) with the
        others of its kind waiting; raise its own error, as the single write would."""
        lane = self._inserts if isinstance(operation, InsertOne) else self._updates
        return lane.write(operation)

    def modified(self, operation: UpdateOne, proof: dict) -> bool:
        """Whether the guarded update ``operation`` modified its document; when
        its batch cannot say, whether a document matching ``proof`` (what only
        this update writes: its own event's id, its own timeline step) exists."""
        outcome = self.write(operation)
        if outcome.certain:
            return outcome.modified
        return self.collection.find_one(proof, {"_id": 1}) is not None


class Lane(Group):
    """Writes of one kind to one collection, sent in batches of at most ``most``."""

    def __init__(self, collection, most: int):
        super().__init__(most)
        self.collection = collection

    def write(self, operation) -> Outcome:
        return self._join(operation)

    def _settle(self, batch: list[Waiter]) -> None:
        settle(self.collection, batch)


class Batches(Group):
    """Any work of many workers done in batches of at most ``most``:
    ``join(item, settle)``; whoever leads calls its ``settle(items)`` for the
    batch, which answers each item (in order). ``size(item)``: what an item
    counts towards ``most`` (1 each by default); an item larger than
    ``most`` goes in a batch of its own."""

    def __init__(self, most: int = MOST_PER_BATCH, size=None):
        super().__init__(most)
        self.size = size or (lambda item: 1)

    def join(self, item, settle):
        return self._join((item, settle))

    def _take(self, waiting: list[Waiter]) -> tuple[list[Waiter], list[Waiter]]:
        total = 0
        for n, waiter in enumerate(waiting):
            total += self.size(waiter.operation[0])
            if n and total > self.most:
                return waiting[:n], waiting[n:]
        return waiting, []

    def _settle(self, batch: list[Waiter]) -> None:
        settle = batch[0].operation[1]  # the leader's own
        answers = settle([waiter.operation[0] for waiter in batch])
        if len(answers) != len(batch):
            raise ValueError(f"{len(answers)} answers for {len(batch)} items")
        for waiter, answer in zip(batch, answers):
            waiter.outcome = answer


class GroupReader(Group):
    """Reads of one collection by one field's value (an indexed one), from
    many workers at once, sent together: one ``find`` with ``$in`` for the
    values waiting (at most ``most``; ``also``: the same further conditions
    for all, ``projection`` the fields read, ``field`` among them), each
    worker answered the documents with its value. At a trickle a read goes
    alone, as it would have."""

    def __init__(self, collection, field: str, also: dict | None = None,
                 projection: dict | None = None, most: int = MOST_PER_READ):
        super().__init__(most)
        self.collection, self.field = collection, field
        self.also, self.projection = also or {}, projection

    def find(self, value) -> list[dict]:
        """The documents whose ``field`` is ``value``; a failed read raises
        its error in every worker whose value it held."""
        return self._join(value)

    def _settle(self, batch: list[Waiter]) -> None:
        values = list(dict.fromkeys(waiter.operation for waiter in batch))
        found: dict = {}
        for document in self.collection.find(
                {self.field: values[0] if len(values) == 1 else {"$in": values}, **self.also},
                self.projection):
            value = document.get(self.field)  # an array's document is each of its values'
            for one in value if isinstance(value, list) else [value]:
                found.setdefault(one, []).append(document)
        for waiter in batch:
            waiter.outcome = found.get(waiter.operation, [])


def settle(collection, batch: list[Waiter]) -> None:
    """Write ``batch`` in one command; give each waiter its outcome or error."""
    errors: dict[int, dict] = {}
    try:
        result = collection.bulk_write([waiter.operation for waiter in batch], ordered=False)
        modified = result.modified_count
    except BulkWriteError as error:
        errors = {failure["index"]: failure for failure in error.details["writeErrors"]}
        modified = error.details.get("nModified", 0)
        if concern := error.details.get("writeConcernErrors"):
            # written, perhaps, but not as durable as asked (no majority in
            # time, a step-down): a write the server may roll back is no
            # writer's to answer done - each gets "retry later" (a review:
            # only the write errors were read, every other write taken for done)
            unsure = WTimeoutError(concern[0].get("errmsg", "write concern not satisfied"),
                                   concern[0].get("code"), {"writeConcernError": concern[0]})
            for n, waiter in enumerate(batch):
                waiter.error = error_of(errors[n]) if n in errors else unsure
            return
    except Exception as error:  # the database, not a write: every writer gets it
        for waiter in batch:
            waiter.error = error
        return
    updates = sum(1 for n, waiter in enumerate(batch)
                  if n not in errors and not isinstance(waiter.operation, InsertOne))
    every_update_modified = modified == updates
    for n, waiter in enumerate(batch):
        if n in errors:
            waiter.error = error_of(errors[n])
        elif isinstance(waiter.operation, InsertOne):
            waiter.outcome = Outcome(modified=True, certain=True)
        else:
            waiter.outcome = Outcome(modified=every_update_modified,
                                     certain=every_update_modified or modified == 0)


def error_of(failure: dict) -> OperationFailure:
    """One write's error in a bulk write's answer, as its own command's would be."""
    kind = DuplicateKeyError if failure.get("code") == DUPLICATE_KEY else OperationFailure
    # not the document ("op"): an error may be logged, the document holds a NIK
    details = {key: value for key, value in failure.items() if key != "op"}
    return kind(failure.get("errmsg", ""), failure.get("code"), details)


def chunks(items: list, size: int):
    """``items`` in consecutive slices of at most ``size`` (one command each)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _answer(waiter: Waiter):
    if waiter.error is not None:
        raise waiter.error
    return waiter.outcome


class Gatherings:
    """Items for one key (a document's id) that come while the first of them
    waits ``linger`` seconds, settled together: ``settle(items)`` is called
    once per gathering, by its first member's worker, and answers each item
    (in order); each member gets its own answer, or the error ``settle``
    raised. ``linger`` 0: every item is settled alone, at once."""

    def __init__(self, linger: float = 0.0):
        self.linger = linger
        self._open: dict[object, list[Waiter]] = {}
        self._lock = threading.Lock()

    def join(self, key, item, settle):
        if self.linger <= 0:
            return settle([item])[0]
        member = Waiter(item)
        with self._lock:
            members = self._open.setdefault(key, [])
            members.append(member)
            lead = len(members) == 1
        if lead:
            self._settle(key, members, settle)
        else:
            member.done.wait()
        return _answer(member)

    def _settle(self, key, members: list[Waiter], settle) -> None:
        try:
            try:
                time.sleep(self.linger)
            finally:  # closed even when the worker is killed while it waits
                with self._lock:
                    del self._open[key]
            answers = settle([member.operation for member in members])
            for member, answer in zip(members, answers, strict=True):
                member.outcome = answer
        except BaseException as error:  # every member gets it (a killed worker's too)
            for member in members:
                member.error = error
        finally:
            for member in members[1:]:
                member.done.set()


class ReadAhead:
    """One read serving the takers of the next ``seconds``: what a read
    found, handed out in order, each item to one taker, until it is used up,
    older than ``seconds`` or ``forget``-ten (a change the read may have
    missed); then the next taker reads again. For a read the local server
    cannot bound (it reads every match whatever the limit) that many takers
    would each pay (``PrintStore.claim``).

    A read that found fewer than ``whole_below`` items read all there was:
    once they are handed out, the takers of the rest of its ``seconds`` get
    nothing without reading (``drained``) - unless ``more_queued`` says
    items came behind it since (a poll of an empty queue cost a read each).

    One taker at a time: the others wait for a read in progress and take
    from it (two takers reading at once, each handing out its own copy,
    gave one item to both - and a taker preempted mid-take even got one
    item twice)."""

    def __init__(self, seconds: float, whole_below: int | None = None):
        self.seconds, self.whole_below = seconds, whole_below
        self._items: collections.deque = collections.deque()
        self._read_at = float("-inf")
        self._whole = False  # the last read found all there was
        self._changes = 0  # how many forgets and more_queued so far
        self._lock = threading.Lock()

    def take(self, count: int, read) -> list:
        """Up to ``count`` items; ``read()`` (items in order) when none are
        left or they are too old, unless ``drained``. Fewer than ``count``:
        the read found no more. ``read()`` answering None made no read
        (nothing changes; no items)."""
        with self._lock:
            if not self._items or not self._fresh():
                if self.drained():
                    return []
                changes = self._changes
                found = read()
                if found is None:
                    return []
                self._items = collections.deque(found)
                # a change while it read: the read may have missed it
                unchanged = changes == self._changes
                self._read_at = time.monotonic() if unchanged else float("-inf")
                self._whole = unchanged and self.whole_below is not None \
                    and len(found) < self.whole_below
            return [self._items.popleft() for _ in range(min(count, len(self._items)))]

    def drained(self) -> bool:
        """Whether the last read, fresh, found all there was and all of it is handed out."""
        return self._whole and not self._items and self._fresh()

    def _fresh(self) -> bool:
        return time.monotonic() - self._read_at <= self.seconds

    def forget(self) -> None:
        """The next take reads again (without waiting for a read in progress)."""
        self._changes += 1
        self._read_at = float("-inf")

    def more_queued(self) -> None:
        """Items came behind what was read: what is left of it still goes
        first, but once it is handed out the next take reads again."""
        self._changes += 1
        self._whole = False


class Recent:
    """A piece of work done at most once every ``seconds`` in this process:
    its result kept and given to every caller meanwhile (one works it out,
    the others wait for it) - a read many callers can share a little stale,
    or a write that need not be repeated each time (``PrintStore``'s
    station sightings)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._done_at = float("-inf")
        self._result = None
        self._lock = threading.Lock()

    def get(self, work):
        with self._lock:
            if time.monotonic() - self._done_at > self.seconds:
                self._result = work()
                self._done_at = time.monotonic()
            return self._result


class GroupWrites:
    """A database's group writers, one per collection, made on first use, and
    its gatherings of one document's writes (``gather_seconds``: how long the
    first waits for the others; 0, the default: none)."""

    def __init__(self, db, gather_seconds: float = 0.0):
        self.db = db
        self.gatherings = Gatherings(gather_seconds)
        self._writers: dict[str, GroupWriter] = {}
        self._readers: dict[tuple, GroupReader] = {}
        self._batches: dict[str, Batches] = {}
        self._ahead: dict[str, ReadAhead] = {}
        self._recent: dict[str, Recent] = {}
        self._turns: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> GroupWriter:
        with self._lock:
            if name not in self._writers:
                self._writers[name] = GroupWriter(self.db[name])
            return self._writers[name]

    def batches(self, name: str, most: int = MOST_PER_BATCH, size=None) -> Batches:
        """The batches of one kind of work (``Batches``: at most ``most``
        items, or ``most`` of what ``size`` counts), by its name."""
        with self._lock:
            if name not in self._batches:
                self._batches[name] = Batches(most, size)
            return self._batches[name]

    def read_ahead(self, name: str, seconds: float, whole_below: int | None = None) -> ReadAhead:
        """The reads ahead of one kind (``ReadAhead``), by its name."""
        with self._lock:
            if name not in self._ahead:
                self._ahead[name] = ReadAhead(seconds, whole_below)
            return self._ahead[name]

    def recent(self, name: str, seconds: float) -> Recent:
        """The work of one kind done at most once every ``seconds`` (``Recent``), by its name."""
        with self._lock:
            if name not in self._recent:
                self._recent[name] = Recent(seconds)
            return self._recent[name]

    def turn(self, name: str) -> threading.Lock:
        """The lock of one kind of work, by its name: its workers in this
        process one at a time (``PrintStore.claim``'s count of a station)."""
        with self._lock:
            return self._turns.setdefault(name, threading.Lock())

    def forget_reads_ahead(self) -> None:
        with self._lock:
            for ahead in self._ahead.values():
                ahead.forget()

    def more_queued(self) -> None:
        """Items came behind every read ahead (``ReadAhead.more_queued``)."""
        with self._lock:
            for ahead in self._ahead.values():
                ahead.more_queued()

    def reader(self, name: str, field: str, also: dict | None = None,
               projection: dict | None = None) -> GroupReader:
        """The group reads of collection ``name`` by ``field`` (``GroupReader``)."""
        key = (name, field, repr(also), repr(projection))
        with self._lock:
            if key not in self._readers:
                self._readers[key] = GroupReader(self.db[name], field, also, projection)
            return self._readers[key]
