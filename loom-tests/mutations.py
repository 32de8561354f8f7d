"""Mutation check of the loom models: weaken one ordering (or drop one step)
at a time in a scratch copy of the crate, run the models, and report whether
they catch it. Run it in a throw-away worktree, never in your checkout:

    git worktree add ../ringbus-mut HEAD && cd ../ringbus-mut
    P=2 python3 loom-tests/mutations.py          # all mutations
    P=2 python3 loom-tests/mutations.py 0 7      # just these

Each mutation is restored after its run. Results are in MUTATIONS.md.
"""
import subprocess, sys, os, time
W=os.getcwd()
muts = [
 # (id, file, old, new, test file, tests)
 ("spsc tail publish Release->Relaxed", "src/spsc.rs", "ring.tail.store(tail, Ordering::Release);", "ring.tail.store(tail, Ordering::Relaxed);", "spsc", None),
 ("spsc tail load Acquire->Relaxed (receiver)", "src/spsc.rs", "let tail = self.ring.tail.load(Ordering::Acquire);\n        self.tail.set(tail);\n        tail.wrapping_sub(head)", "let tail = self.ring.tail.load(Ordering::Relaxed);\n        self.tail.set(tail);\n        tail.wrapping_sub(head)", "spsc", None),
 ("spsc head release Release->Relaxed", "src/spsc.rs", "ring.head.store(head, Ordering::Release);", "ring.head.store(head, Ordering::Relaxed);", "spsc", None),
 ("spsc head load Acquire->Relaxed (sender)", "src/spsc.rs", "let head = ring.head.load(Ordering::Acquire);\n        self.head.set(head);\n        ring.capacity()", "let head = ring.head.load(Ordering::Relaxed);\n        self.head.set(head);\n        ring.capacity()", "spsc", None),
 ("spsc sender_gone store Release->Relaxed", "src/spsc.rs", "self.ring.sender_gone.store(true, Ordering::Release);", "self.ring.sender_gone.store(true, Ordering::Relaxed);", "spsc", None),
 ("spsc sender_gone load Acquire->Relaxed", "src/spsc.rs", "if self.ring.sender_gone.load(Ordering::Acquire) {", "if self.ring.sender_gone.load(Ordering::Relaxed) {", "spsc", None),
 ("spsc: no re-check of tail after seeing sender_gone", "src/spsc.rs", "            if self.available(1) > 0 {\n                return Ok(());\n            }\n            return Err(TryRecvError::Disconnected);", "            return Err(TryRecvError::Disconnected);", "spsc", None),
 ("wait: notify fence F1 removed", "src/wait.rs", "        light_fence();\n        // Relaxed: the fences above", "        // Relaxed: the fences above", "spsc", None),
 ("wait: sleep fence F2 removed", "src/wait.rs", "        heavy_fence();\n        let result = attempt();", "        let result = attempt();", "spsc", None),
 ("wait: notify wakes the condvar before taking the lock", "src/wait.rs", '        let mut wakers = self.lock.lock().unwrap_or_else(|e| e.into_inner());\n        if wakers.list.is_empty() {\n            // Only threads sleep here.\n            drop(wakers);\n            self.cond.notify_all();\n            return;\n        }\n', '        self.cond.notify_all();\n        let mut wakers = self.lock.lock().unwrap_or_else(|e| e.into_inner());\n        if wakers.list.is_empty() {\n            // Only threads sleep here.\n            drop(wakers);\n            return;\n        }\n', "spsc", None),
 ("mpmc write stamp Release->Relaxed", "src/mpmc.rs", "slot.stamp.store(full_stamp(tail), Ordering::Release);", "slot.stamp.store(full_stamp(tail), Ordering::Relaxed);", "mpmc", None),
 ("mpmc recv stamp load Acquire->Relaxed", "src/mpmc.rs", "            // this slot (`stamp = 2t + 1`): its write happens before our read.\n            let stamp = slot.stamp.load(Ordering::Acquire);", "            let stamp = slot.stamp.load(Ordering::Relaxed);", "mpmc", None),
 ("mpmc read stamp Release->Relaxed", "src/mpmc.rs", "slot.stamp.store(free_stamp(next_lap), Ordering::Release);", "slot.stamp.store(free_stamp(next_lap), Ordering::Relaxed);", "mpmc", None),
 ("mpmc send stamp load Acquire->Relaxed", "src/mpmc.rs", "            // its read happens before our write.\n            let stamp = slot.stamp.load(Ordering::Acquire);", "            let stamp = slot.stamp.load(Ordering::Relaxed);", "mpmc", None),
 ("mpmc sender count fetch_sub AcqRel->Relaxed", "src/mpmc.rs", "if self.ring.handles.senders.fetch_sub(1, Ordering::AcqRel) == 1 {", "if self.ring.handles.senders.fetch_sub(1, Ordering::Relaxed) == 1 {", "mpmc", None),
 ("mpmc sender count load Acquire->Relaxed", "src/mpmc.rs", "if self.handles.senders.load(Ordering::Acquire) != 0 {", "if self.handles.senders.load(Ordering::Relaxed) != 0 {", "mpmc", None),
 ("mpmc: no second look after senders gone", "src/mpmc.rs", "                    seen_disconnected = true;\n                    // Relaxed: a hint where to look; the stamp decides.\n                    head = self.head.load(Ordering::Relaxed);", "                    return Err(TryRecvError::Disconnected);", "mpmc", None),
 ("mpmc: Vyukov i+1 stamps (capacity-1 aliasing)", "src/mpmc.rs", "index.wrapping_mul(2) | 1", "index.wrapping_add(1)", "mpmc", None),
 ("broadcast: publisher tail store Release->Relaxed", "src/broadcast.rs", "ring.tail.store(tail, Ordering::Release);", "ring.tail.store(tail, Ordering::Relaxed);", "broadcast", None),
 ("broadcast: subscriber tail load Acquire->Relaxed", "src/broadcast.rs", "            self.tail.load(Ordering::Acquire)\n        } else {", "            self.tail.load(Ordering::Relaxed)\n        } else {", "broadcast", None),
 ("broadcast: cursor advance Release->Relaxed", "src/broadcast/cursors.rs", ".store(cursor & SEQUENCE, Ordering::Release);", ".store(cursor & SEQUENCE, Ordering::Relaxed);", "broadcast", None),
 ("broadcast: scan of cursors Acquire->Relaxed", "src/broadcast/cursors.rs", "let cursor = entry.load(Ordering::Acquire);", "let cursor = entry.load(Ordering::Relaxed);", "broadcast", None),
 ("broadcast: entry claim Acquire->Relaxed", "src/broadcast/cursors.rs", ".compare_exchange(FREE, CLAIMING, Ordering::Acquire, Ordering::Relaxed)", ".compare_exchange(FREE, CLAIMING, Ordering::Relaxed, Ordering::Relaxed)", "broadcast", None),
 ("broadcast: joins increment Release->Relaxed", "src/broadcast/cursors.rs", "self.joins.fetch_add(1, Ordering::Release);", "self.joins.fetch_add(1, Ordering::Relaxed);", "broadcast", None),
 ("broadcast: scan does not retry when a join landed", "src/broadcast/cursors.rs", "if self.joins.load(Ordering::Acquire) == before {", "if true || self.joins.load(Ordering::Acquire) == before {", "broadcast", None),
 ("broadcast: leave's FREE store Release->Relaxed", "src/broadcast/cursors.rs", "self.entry(entry).store(FREE, Ordering::Release);", "self.entry(entry).store(FREE, Ordering::Relaxed);", "broadcast", None),
 ("broadcast: publisher_gone store Release->Relaxed", "src/broadcast.rs", "self.ring.publisher_gone.store(true, Ordering::Release);", "self.ring.publisher_gone.store(true, Ordering::Relaxed);", "broadcast", None),
 ("broadcast: publisher checks live before scanning", "src/broadcast.rs", "        let room = self.has_room();\n        // After the scan: a subscriber whose entry the scan saw free is\n        // uncounted here too (see `Cursors::leave`), so a send never succeeds\n        // once the last subscriber has gone.\n        if self.ring.cursors.live() == 0 {\n            return Err(TrySendError::Disconnected(()));\n        }\n", "        if self.ring.cursors.live() == 0 {\n            return Err(TrySendError::Disconnected(()));\n        }\n        let room = self.has_room();\n", "broadcast", None),
 ("lossy: no Release fence after the odd stamp", "src/broadcast/lossy.rs", "        fence(Ordering::Release);\n        ring.store_value", "        ring.store_value", "lossy", None),
 ("lossy: no Acquire fence before the second stamp load", "src/broadcast/lossy.rs", "            fence(Ordering::Acquire);\n            // Relaxed: ordered by the fence above.", "            // Relaxed: ordered by the fence above.", "lossy", None),
 ("lossy: even stamp store Release->Relaxed", "src/broadcast/lossy.rs", "stamp.store(sequence.wrapping_mul(2).wrapping_add(2), Ordering::Release);", "stamp.store(sequence.wrapping_mul(2).wrapping_add(2), Ordering::Relaxed);", "lossy", None),
 ("lossy: tail store Release->Relaxed", "src/broadcast/lossy.rs", "        ring.tail.store(tail, Ordering::Release);\n        self.tail.set(tail);", "        ring.tail.store(tail, Ordering::Relaxed);\n        self.tail.set(tail);", "lossy", None),
 ("lossy: no second stamp check", "src/broadcast/lossy.rs", "            if after == before {", "            if true {", "lossy", None),
 ("lossy: a lapped reader resumes one message too early", "src/broadcast/lossy.rs", "        Err(Some(w.wrapping_add(1).wrapping_sub(ring.capacity())))", "        Err(Some(w.wrapping_sub(ring.capacity())))", "lossy", None),
 ("broadcast: the reaper moves messages out but never drops them", "src/broadcast/reap.rs", "            drop(taken);\n", "            mem::forget(taken);\n", "broadcast", None),
 ("multi: mark store Release->Relaxed", "src/broadcast/multi.rs", "ring.published[sequence & ring.mask].store(sequence.wrapping_add(1), Ordering::Release);", "ring.published[sequence & ring.mask].store(sequence.wrapping_add(1), Ordering::Relaxed);", "broadcast", None),
 ("multi: mark load Acquire->Relaxed", "src/broadcast/multi.rs", "&& ring.published[end & ring.mask].load(Ordering::Acquire) == end.wrapping_add(1)", "&& ring.published[end & ring.mask].load(Ordering::Relaxed) == end.wrapping_add(1)", "broadcast", None),
 ("multi: subscribers read up to the claimed tail, not the marks", "src/broadcast.rs", "            multi::readable_end(self, cursor)", "            self.tail.load(Ordering::Acquire)", "broadcast", None),
 ("reqrep: requester's fence F_q removed", "src/reqrep.rs", "        light_fence();\n        // R_r", "        // R_r", "reqrep", None),
 ("reqrep: leaving replier's fence F_r removed", "src/reqrep.rs", "        heavy_fence();\n", "", "reqrep", None),
 ("reqrep: requester does not re-check the repliers after its fence", "src/reqrep.rs", "        if endpoint.repliers_gone() {\n            return match self.slot.cancel(seq) {", "        if false {\n            return match self.slot.cancel(seq) {", "reqrep", None),
 ("reqrep: last replier leaves without draining", "src/reqrep/replier.rs", "            self.endpoint.drain(&self.rx);", "", "reqrep", None),
 ("reqrep: FULL store Release->Relaxed", "src/reqrep/slot.rs", "slot.state.store(pack(self.seq, FULL), Ordering::Release);", "slot.state.store(pack(self.seq, FULL), Ordering::Relaxed);", "reqrep", None),
 ("reqrep: poll's state load Acquire->Relaxed", "src/reqrep/slot.rs", "let state = self.state.load(Ordering::Acquire);", "let state = self.state.load(Ordering::Relaxed);", "reqrep", None),
 ("reqrep: dropped ticket does not notify", "src/reqrep/slot.rs", "            && slot.wait.may_sleep()\n        {\n            slot.signal.notify();", "            && slot.wait.may_sleep()\n        {", "reqrep", None),
 ("reqrep: drain stops at the first empty slot instead of waiting for a request being written", "src/reqrep.rs", "                Err(TryRecvError::Empty) if !rx.is_empty() => yield_now(),\n", "", "reqrep", None),
 ("reqrep: reply does not notify", "src/reqrep/slot.rs", "        if slot.wait.may_sleep() {\n            slot.signal.notify();\n        }\n        Ok(())", "        Ok(())", "reqrep", None),
 ('waiters: Signal::register without its fence F2', 'src/wait.rs', '        self.register_unfenced(key, waker);\n        // F2: pairs with F1 in `notify` (`sync::heavy_fence`).\n        heavy_fence();', '        self.register_unfenced(key, waker);', "waiters", None),
 ('waiters: select parks without the fence after registering', 'src/select.rs', '        // F2, once for all the registrations above.\n        heavy_fence();\n', '', "waiters", None),
 ('waiters: a future returns Pending without the re-check after registering', 'src/wait/task.rs', '        // R_t: the re-check after F2.\n        match op.attempt() {', '        match None {', "waiters", None),
 ('waiters: select parks without re-scanning after registering', 'src/select.rs', '        let found = self.scan();\n        if found.is_none()', '        let found = None;\n        if found.is_none()', "waiters", None),
 ('waiters: fd arm without the look after registering (step 4)', 'src/readiness.rs', '        // 4.\n        if receiver.is_ready() {', '        // 4.\n        if false {', "waiters", None),
 ('waiters: notifier removes the wakers without waking them', 'src/wait.rs', '            held.run(|| waker.wake());\n', '            held.run(|| drop(waker));\n', "waiters", None),
 ('waiters: a registered waker does not count as a sleeper', 'src/wait.rs', "                *key = Some(id);\n                // W_s. Relaxed: ordered by the caller's F2; changed only\n                // under the lock while a waker is listed.\n                self.sleepers.fetch_add(1, Ordering::Relaxed);", '                *key = Some(id);', "waiters", None),
 ('waiters: notifier wakes the wakers but leaves them registered', 'src/wait.rs', '        let mut woken = std::mem::take(&mut wakers.list);\n        // Relaxed: under the lock, like every change to the list.\n        self.sleepers.fetch_sub(woken.len(), Ordering::Relaxed);\n', '        let mut woken = wakers.list.clone();\n', "waiters", None),
 ("broadcast: advance does not notify not_full (async send)", "src/broadcast.rs", "        } else if self.ring.wait.may_sleep() {\n            self.ring.not_full.notify();\n        }\n    }", "        }\n    }", "broadcast", None),
 ("broadcast async send: registration without its fence", "src/wait.rs", "        self.register_unfenced(key, waker);\n        // F2: pairs with F1 in `notify` (`sync::heavy_fence`).\n        heavy_fence();", "        self.register_unfenced(key, waker);", "broadcast", None),
 ('reap: reaped store Release->Relaxed', 'src/broadcast/reap.rs', '.store(reaped.wrapping_add(count), Ordering::Release);', '.store(reaped.wrapping_add(count), Ordering::Relaxed);', "broadcast", ['last_subscriber_to_pass_a_message_drops_it', 'leaver_drops_what_nobody_else_needs', 'clone_joins_while_reaping', 'subscribe_reaps_what_the_last_leaver_could_not', 'every_message_dropped_once']),
 ("reap: the publisher's load of reaped Acquire->Relaxed", 'src/broadcast/reap.rs', 'self.reaped.load(Ordering::Acquire)', 'self.reaped.load(Ordering::Relaxed)', "broadcast", ['last_subscriber_to_pass_a_message_drops_it', 'leaver_drops_what_nobody_else_needs', 'clone_joins_while_reaping', 'subscribe_reaps_what_the_last_leaver_could_not', 'every_message_dropped_once']),
 ("reap: a request's increment AcqRel->Relaxed", 'src/broadcast/reap.rs', 'self.requests.fetch_add(1, Ordering::AcqRel)', 'self.requests.fetch_add(1, Ordering::Relaxed)', "broadcast", ['last_subscriber_to_pass_a_message_drops_it', 'leaver_drops_what_nobody_else_needs', 'clone_joins_while_reaping', 'subscribe_reaps_what_the_last_leaver_could_not', 'every_message_dropped_once']),
 ("reap: the reaper's swap to 0 Release->Relaxed", 'src/broadcast/reap.rs', 'self.requests.swap(0, Ordering::Release)', 'self.requests.swap(0, Ordering::Relaxed)', "broadcast", ['last_subscriber_to_pass_a_message_drops_it', 'leaver_drops_what_nobody_else_needs', 'clone_joins_while_reaping', 'subscribe_reaps_what_the_last_leaver_could_not', 'every_message_dropped_once']),
 ('reap: the reaper stops after one pass, dropping the requests that came in meanwhile', 'src/broadcast/reap.rs', 'let again = asked != 1 || !all;', 'let again = !all;', "broadcast", ['last_subscriber_to_pass_a_message_drops_it', 'leaver_drops_what_nobody_else_needs', 'clone_joins_while_reaping', 'subscribe_reaps_what_the_last_leaver_could_not', 'every_message_dropped_once']),
 ('reap: the end is read after the scan of the cursors', 'src/broadcast/reap.rs', '        let end = self.readable_end(reaped);\n        let passed = end.wrapping_sub(self.cursors.lag(end));', '        let lag = self.cursors.lag(self.tail.load(Ordering::Acquire));\n        let end = self.readable_end(reaped);\n        let passed = self.tail.load(Ordering::Acquire).wrapping_sub(lag).min(end);', "broadcast", ['last_subscriber_to_pass_a_message_drops_it', 'leaver_drops_what_nobody_else_needs', 'clone_joins_while_reaping', 'subscribe_reaps_what_the_last_leaver_could_not', 'every_message_dropped_once']),
 ('reap: subscribe does not reap', 'src/broadcast.rs', '            // reap, and maybe panic again) while unwinding.\n            self.ring.reap();', '            // reap, and maybe panic again) while unwinding.', "broadcast", ['last_subscriber_to_pass_a_message_drops_it', 'leaver_drops_what_nobody_else_needs', 'clone_joins_while_reaping', 'subscribe_reaps_what_the_last_leaver_could_not', 'every_message_dropped_once']),
 ('reap: the reaper does not wake the publisher', 'src/broadcast/reap.rs', '            if self.wait.may_sleep() {\n                self.not_full.notify();\n            }\n', '', "broadcast", ['last_subscriber_to_pass_a_message_drops_it', 'leaver_drops_what_nobody_else_needs', 'clone_joins_while_reaping', 'subscribe_reaps_what_the_last_leaver_could_not', 'every_message_dropped_once']),
 ('reap: the publisher gates on the cursors, not on reaped', 'src/broadcast.rs', '        if mem::needs_drop::<T>() {\n            // The gate is what was reaped', '        if false {\n            // The gate is what was reaped', "broadcast", ['last_subscriber_to_pass_a_message_drops_it', 'leaver_drops_what_nobody_else_needs', 'clone_joins_while_reaping', 'subscribe_reaps_what_the_last_leaver_could_not', 'every_message_dropped_once']),
 ("reap: a subscriber's move does not ask for a reap", 'src/broadcast.rs', '            // the publisher, which waits for `reaped` to move.\n            self.ring.reap();', '            // the publisher, which waits for `reaped` to move.', "broadcast", ['last_subscriber_to_pass_a_message_drops_it', 'leaver_drops_what_nobody_else_needs', 'clone_joins_while_reaping', 'subscribe_reaps_what_the_last_leaver_could_not', 'every_message_dropped_once']),
 ('reap: a leaving subscriber does not ask for a reap', 'src/broadcast.rs', "            // This subscriber's unread messages, if nobody else needs them.\n            self.ring.reap();", "            // This subscriber's unread messages, if nobody else needs them.", "broadcast", ['last_subscriber_to_pass_a_message_drops_it', 'leaver_drops_what_nobody_else_needs', 'clone_joins_while_reaping', 'subscribe_reaps_what_the_last_leaver_could_not', 'every_message_dropped_once']),
 ("multi: a reaped past a stale tail counts as a whole ring behind", "src/broadcast/multi.rs", "(behind as isize) < 0 || behind < capacity", "behind < capacity", "broadcast", ["multi_publisher_stale_tail_is_not_full"]),
 ("multi subscribe: the claim's compare-exchange Acquire->Relaxed", "src/broadcast/multi.rs", "                current.wrapping_add(1),\n                Ordering::Acquire,\n                Ordering::Relaxed,", "                current.wrapping_add(1),\n                Ordering::Relaxed,\n                Ordering::Relaxed,", "broadcast", ['multi_publisher_subscribe_while_publishing', 'multi_publisher_subscribe_while_reaping', 'multi_publisher_subscribe_alone']),
 ("multi subscribe: the joiner reads the tail with a load, not a read-modify-write", "src/broadcast.rs", "let tail = subscriber.ring.tail.fetch_add(0, Ordering::Release);", "let tail = subscriber.ring.tail.load(Ordering::Acquire);", "broadcast", ['multi_publisher_subscribe_while_publishing', 'multi_publisher_subscribe_while_reaping', 'multi_publisher_subscribe_alone']),
 ("multi subscribe: the joiner's read-modify-write Release->Relaxed", "src/broadcast.rs", "let tail = subscriber.ring.tail.fetch_add(0, Ordering::Release);", "let tail = subscriber.ring.tail.fetch_add(0, Ordering::Relaxed);", "broadcast", ['multi_publisher_subscribe_while_publishing', 'multi_publisher_subscribe_while_reaping', 'multi_publisher_subscribe_alone']),
 ("multi subscribe: the reaper takes a cursor behind reaped as a wrapped distance", "src/broadcast/reap.rs", "if (passed.wrapping_sub(reaped) as isize) < 0 {", "if false {", "broadcast", ['multi_publisher_subscribe_while_publishing', 'multi_publisher_subscribe_while_reaping', 'multi_publisher_subscribe_alone']),
 ("multi subscribe: a scan that sees no cursor gates on the tail, as before", "src/broadcast/multi.rs", "            // written would write the same slot; so wait for the entry.\n            false", "            // written would write the same slot; so wait for the entry.\n            true", "broadcast", ['multi_publisher_subscribe_while_publishing', 'multi_publisher_subscribe_while_reaping', 'multi_publisher_subscribe_alone']),
 ("multi subscribe: the joiner does not wait for the claims in flight below the places it reports", "src/broadcast/multi.rs", "    let mut sequence = start;\n    while sequence != end {", "    let mut sequence = end;\n    while sequence != end {", "broadcast", ['multi_publisher_subscribe_while_publishing', 'multi_publisher_subscribe_while_reaping', 'multi_publisher_subscribe_alone']),
 ("pubsub stats: DropOldest does not take what it pushed out of the ring off received", "src/pubsub/endpoint.rs", "let pushed_out = if self.overflow == Overflow::DropOldest {", "let pushed_out = if false {", "pubsub", ["drop_oldest_counts_exactly"]),
 ("multi len: a scan that sees no cursor leaves the gate at the tail (the old code)", "src/broadcast/multi.rs", "            None => 0,\n", "            None => {\n                self.gate.set(tail);\n                0\n            }\n", "broadcast", ["multi_publisher_len_while_a_lone_subscriber_joins"]),
 # 2026-11-28 orderings audit (REPORT.md in the audit worktree): uncovered
 # orderings and wake-ups; the models named are the ones that catch each.
 ("broadcast: subscriber's publisher_gone load (start_recv) Acquire->Relaxed", 'src/broadcast.rs', 'if ring.publisher_gone.load(Ordering::Acquire) {', 'if ring.publisher_gone.load(Ordering::Relaxed) {', 'broadcast', ['drains_before_disconnect']),
 ('lossy: publisher_gone store Release->Relaxed', 'src/broadcast/lossy.rs', 'self.ring.publisher_gone.store(true, Ordering::Release);', 'self.ring.publisher_gone.store(true, Ordering::Relaxed);', 'lossy', ['drains_before_disconnect']),
 ("lossy: subscriber's publisher_gone load Acquire->Relaxed", 'src/broadcast/lossy.rs', 'if !self.publisher_gone.load(Ordering::Acquire) {', 'if !self.publisher_gone.load(Ordering::Relaxed) {', 'lossy', ['lagging_reader_never_torn_and_lag_exact']),
 ("cursors: joiner's entry store Release->Relaxed", 'src/broadcast/cursors.rs', 'entry.store(position & SEQUENCE, Ordering::Release);', 'entry.store(position & SEQUENCE, Ordering::Relaxed);', 'broadcast', ['clone_reuses_the_entry_of_a_leaver']),
 ("cursors: scan's first load of joins Acquire->Relaxed", 'src/broadcast/cursors.rs', 'let before = self.joins.load(Ordering::Acquire);', 'let before = self.joins.load(Ordering::Relaxed);', 'broadcast', ['clone_joins_while_publishing']),
 ("cursors: leave's live decrement Release->Relaxed", 'src/broadcast/cursors.rs', 'self.live.fetch_sub(1, Ordering::Release);', 'self.live.fetch_sub(1, Ordering::Relaxed);', 'broadcast', ['loan_after_the_last_subscriber_left', 'subscribers_gone_while_publisher_blocked']),
 ('cursors: live() load Acquire->Relaxed', 'src/broadcast/cursors.rs', 'self.live.load(Ordering::Acquire)', 'self.live.load(Ordering::Relaxed)', 'broadcast', ['loan_after_the_last_subscriber_left', 'subscribers_gone_while_publisher_blocked']),
 ('multi: publishers decrement in drop AcqRel->Release', 'src/broadcast/multi.rs', 'if self.ring.publishers.fetch_sub(1, Ordering::AcqRel) == 1 {', 'if self.ring.publishers.fetch_sub(1, Ordering::Release) == 1 {', 'broadcast', ['multi_publisher_drains_before_disconnect']),
 ('multi: publishers decrement in drop AcqRel->Acquire', 'src/broadcast/multi.rs', 'if self.ring.publishers.fetch_sub(1, Ordering::AcqRel) == 1 {', 'if self.ring.publishers.fetch_sub(1, Ordering::Acquire) == 1 {', 'broadcast', ['multi_publisher_drains_before_disconnect']),
 ("multi: last publisher's publisher_gone store Release->Relaxed", 'src/broadcast/multi.rs', 'self.ring.publisher_gone.store(true, Ordering::Release);', 'self.ring.publisher_gone.store(true, Ordering::Relaxed);', 'broadcast', ['multi_publisher_drains_before_disconnect']),
 ("multi: wait_written's mark load Acquire->Relaxed", 'src/broadcast/multi.rs', 'let mark = ring.published[sequence & ring.mask].load(Ordering::Acquire);', 'let mark = ring.published[sequence & ring.mask].load(Ordering::Relaxed);', 'broadcast', ['multi_publisher_subscribe_alone']),
 ("spsc: Receiver::len's tail load (refreshes the cache) Acquire->Relaxed", 'src/spsc.rs', 'let tail = self.ring.tail.load(Ordering::Acquire);\n        self.tail.set(tail);\n        tail.wrapping_sub(self.head.get())', 'let tail = self.ring.tail.load(Ordering::Relaxed);\n        self.tail.set(tail);\n        tail.wrapping_sub(self.head.get())', 'spsc', None),
 ("spsc: Sender::len's head load (refreshes the cache) Acquire->Relaxed", 'src/spsc.rs', 'let head = self.ring.head.load(Ordering::Acquire);\n        self.head.set(head);\n        self.tail.get().wrapping_sub(head)', 'let head = self.ring.head.load(Ordering::Relaxed);\n        self.head.set(head);\n        self.tail.get().wrapping_sub(head)', 'spsc', None),
 ("reqrep: request_async's fence F_q removed", 'src/reqrep/task.rs', '        light_fence();\n', '', 'reqrep', ['last_replier_leaves_while_async_request_queued']),
 ("pubsub: last publisher's count decrement AcqRel->Relaxed", 'src/pubsub/publisher.rs', 'if self.endpoint.publishers.fetch_sub(2, Ordering::AcqRel) == 3 {', 'if self.endpoint.publishers.fetch_sub(2, Ordering::Relaxed) == 3 {', 'pubsub', None),
 ("pubsub: subscriber's load of the publisher count Acquire->Relaxed", 'src/pubsub/endpoint.rs', 'self.publishers.load(Ordering::Acquire) == 1', 'self.publishers.load(Ordering::Relaxed) == 1', 'pubsub', None),
 ('spsc: publish does not notify not_empty', 'src/spsc.rs', '            ring.not_empty.notify();\n', '', 'spsc', None),
 ('spsc: Sender::drop does not notify not_empty', 'src/spsc.rs', '        self.ring.not_empty.notify();\n', '', 'spsc', None),
 ('spsc: release does not notify not_full', 'src/spsc.rs', '            ring.not_full.notify();\n', '', 'spsc', None),
 ('spsc: Receiver::drop does not notify not_full', 'src/spsc.rs', '        self.ring.not_full.notify();\n', '', 'spsc', None),
 ('mpmc: write does not notify not_empty', 'src/mpmc.rs', '            self.not_empty.notify();\n', '', 'mpmc', None),
 ('mpmc: read does not notify not_full', 'src/mpmc.rs', '            self.not_full.notify();\n', '', 'mpmc', None),
 ("mpmc: last sender's drop does not notify not_empty", 'src/mpmc.rs', '            self.ring.not_empty.notify();\n', '', 'mpmc', None),
 ("mpmc: last receiver's drop does not notify not_full", 'src/mpmc.rs', '            self.ring.not_full.notify();\n', '', 'mpmc', None),
 ('broadcast: publish does not notify not_empty', 'src/broadcast.rs', '            ring.not_empty.notify();\n', '', 'broadcast', ['late_joiner_and_leaver_mid_stream', 'fan_out_wraps_with_backpressure']),
 ('broadcast: Publisher::drop does not notify not_empty', 'src/broadcast.rs', '        self.ring.not_empty.notify();\n', '', 'broadcast', ['late_joiner_and_leaver_mid_stream', 'fan_out_wraps_with_backpressure']),
 ('broadcast: Subscriber::drop does not notify not_full', 'src/broadcast.rs', '        // The publisher may be waiting for this subscriber: wake it.\n        self.ring.not_full.notify();\n', '        // The publisher may be waiting for this subscriber: wake it.\n', 'broadcast', ['subscribers_gone_while_publisher_blocked', 'late_joiner_and_leaver_mid_stream']),
 ('multi: write does not notify not_empty', 'src/broadcast/multi.rs', '            ring.not_empty.notify();\n', '', 'broadcast', ['multi_publisher_claims_and_marks']),
 ("multi: last publisher's drop does not notify not_empty", 'src/broadcast/multi.rs', '            self.ring.not_empty.notify();\n', '', 'broadcast', ['multi_publisher_claims_and_marks']),
]
sel = sys.argv[1:] 
pre = os.environ.get("P","2")
for i,(name,f,old,new,tf,tests) in enumerate(muts):
    if sel and str(i) not in sel: continue
    path=os.path.join(W,f)
    orig=open(path).read()
    if old not in orig:
        print(f"[{i}] {name}: PATTERN NOT FOUND", flush=True); continue
    open(path,'w').write(orig.replace(old,new,1))
    try:
        # The runner fails a model that runs past RINGBUS_LOOM_TIMEOUT: a
        # mutation can make a model hang (MUTATIONS.md #17), and a hang is a
        # catch. 600 s is three times the longest model; the runner bounds
        # every model, so the run as a whole needs no timeout of its own.
        env=dict(os.environ, LOOM_MAX_PREEMPTIONS=pre)
        env.setdefault("RINGBUS_LOOM_TIMEOUT", "600")
        t=time.time()
        # loom-tests/run: each model in a process of its own, so a failing
        # model cannot hide the others of its file, and none slows another.
        filters=[f"{tf}::{t}" for t in tests] if tests else [f"{tf}::"]
        r=subprocess.run(["bash","loom-tests/run"]+filters,cwd=W,env=env,capture_output=True,text=True)
        out=r.stdout+r.stderr; returncode=r.returncode
        failed=[l.split()[3] for l in out.splitlines() if l.startswith("FAILED ")]
        reasons=set()
        for l in out.splitlines():
            for key in ["Causality violation","deadlock","assertion","panicked at loom-tests","Model exceeded","double","unwrap","timed out"]:
                if key.lower() in l.lower(): reasons.add(key)
        status = "CAUGHT" if returncode!=0 else "SURVIVED"
        print(f"[{i}] {name}: {status} in {time.time()-t:.0f}s; failing: {' '.join(failed)}; reasons: {sorted(reasons)}", flush=True)
        if returncode!=0 and "error[" in out: print(out[-2000:])
    finally:
        open(path,'w').write(orig)
