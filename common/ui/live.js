// A framework page's copy of its server's state, kept current by the server's event stream:
// every event that can change what is shown triggers one re-read (a burst of them, one), and
// a reconnected stream reads again whatever happened while it was down. Re-reading is simpler
// than patching the copy from events and cannot drift from the API. Shared by the frameworks'
// web UIs, served to each under /ui/shared/live.js; each UI's live.js says what it reads.
import { call } from '/ui/shared/api.js';

/** Events arrive in bursts (a launch is several updates): one refresh each burst. */
const COALESCE_MS = 50;
/** Only a safety net for a stream that silently stalled: events do the real work. */
const FALLBACK_REFRESH_MS = 30_000;

/**
 * Starts keeping `state` current, calling onChange(state) after every read.
 *   state    the UI's copy; `loaded`, `error`, `streaming` and `info` are set here
 *   read     async (state) → void: reads the API into state; throws to say it could not
 *   what     the API's name in the banner when a read fails ('the jobs API')
 *   events   the stream's path ('/v1/events'), and the event types that change what is shown
 *   info     the path of the framework's info, shown in the header
 *   onEvent  (event) → void, for each event of those types (its data, parsed)
 *   onOpen   () → void, when the stream (re)opens, before the read that follows
 * Returns { state, refresh }: refresh() resolves once a read that started after the call is shown.
 */
export function startEventLive({ state, read, what, events, types, info, onEvent = () => {}, onOpen = () => {} }, onChange) {
  Object.assign(state, { loaded: false, error: undefined, streaming: false, info: undefined });
  let inFlight;
  let queued;
  let timer;

  // A caller that just changed something (a scale, a delete) must not be answered by a read
  // from before its change: a read under way is followed by one more.
  function refresh() {
    if (!inFlight) {
      inFlight = load().finally(() => { inFlight = undefined; });
      return inFlight;
    }
    queued ??= inFlight.then(() => { queued = undefined; return refresh(); });
    return queued;
  }

  async function load() {
    try {
      await read(state);
      state.loaded = true;
      state.error = undefined;
    } catch (err) {
      state.error = `cannot read ${what}: ${err.message}`;
    }
    onChange(state);
  }

  async function loadInfo() {
    const answer = await call('GET', info).catch(() => undefined);
    if (answer?.ok) { state.info = answer.body; onChange(state); }
  }

  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), COALESCE_MS);
  };

  const stream = new EventSource(events);
  stream.addEventListener('open', () => {
    state.streaming = true;
    // Whatever happened while the stream was down is read now; the framework id may be new.
    onOpen();
    void loadInfo();
    void refresh();
  });
  stream.addEventListener('error', () => { state.streaming = false; onChange(state); });
  for (const type of types) {
    stream.addEventListener(type, (e) => {
      try { onEvent(JSON.parse(e.data)); } catch { /* a malformed event still says something changed */ }
      soon();
    });
  }
  setInterval(() => void refresh(), FALLBACK_REFRESH_MS);
  void refresh();
  void loadInfo();

  return { state, refresh };
}
