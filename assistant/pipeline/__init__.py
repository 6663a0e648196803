"""The running device: one asyncio loop tying the stages together (``assistant/stages.py`` is its
contract with them; ``assistant/app.py`` builds it).

Read in this order: ``audio_queue`` (sources to the listening thread), ``clock`` (pacing, stream
time), ``sources`` (audio in), ``listening`` (the listening thread's work), ``assistant`` (the state
machine: starting, cutting and ending turns, follow-ups, barge-in, "stop", events), and its collaborators
``turns`` (what a turn does: recognise and answer, hand over, speak unasked), ``gate`` (turn taking under
stream pacing), ``speech`` (speaking a reply) and ``announcements`` (what is said unasked, when idle).

::

    source ─► AudioQueue ─► listening thread ─────────────► loop (state machine, events)
    (mic, file,  (bounded;   Listener.feed, and the              │
     stdin,       live audio  RecognitionStream.feed             ├─► decode thread: RecognitionStream.finish
     Wyoming)     drops the   (partials) while an utterance      ├─► Dialogue.handle (async; timeout)
                  oldest)     is open; ONE worker, in order      ├─► synthesis thread: Speaker.synthesize
                                                                 └─► AudioSink + reply listeners (Wyoming)

States: IDLE (waiting for the wake word) ─wake─► LISTENING ─speech ended─► THINKING ─first audio─►
SPEAKING ─reply done─► LISTENING for the answer's ``follow_up_s`` without the wake word (then IDLE). The wake word while
THINKING or SPEAKING stops the reply and listens (barge-in); "stop" without it (``[wake] stop_model``)
stops the reply or what rings and listens for nothing. Announcements (a timer ringing) are spoken
when the assistant is IDLE. With a ``remote`` pipeline (``[wyoming] mode = "satellite"``: Home Assistant's,
``assistant.satellite``), a request after the wake word is streamed to it while spoken instead of being
recognised here, and its spoken reply is played the same way (``Turns.handed_over``,
``ReplyPlayer.relay``). Every step is a typed event (``assistant.events``) fanned out to subscribers:
the log, ``--events`` JSON lines, Wyoming clients.

Time. Event times are *stream* seconds (audio consumed so far). Two pacings:

* ``Pacing.REALTIME`` (microphone, Wyoming): the world does not wait; a reply takes its duration on the
  wall clock (or however long the sink blocks), and audio keeps arriving while the assistant thinks.
* ``Pacing.STREAM`` (a file processed faster than real time): the file is a simulation in which
  computing takes no stream time: reading the input pauses while the assistant recognises, thinks and
  synthesises, and a reply occupies its duration in *stream* time, so barge-in and the follow-up window
  behave as they would live, deterministically, however fast the machine is.
"""

from assistant.pipeline.assistant import Assistant, JsonLinesWriter, PipelineStats
from assistant.pipeline.audio_queue import AudioQueue
from assistant.pipeline.clock import Pacing
from assistant.pipeline.listening import LEADING_SILENCE
from assistant.pipeline.speech import ReplyListener

__all__ = ["LEADING_SILENCE", "Assistant", "AudioQueue", "JsonLinesWriter", "Pacing", "PipelineStats", "ReplyListener"]
