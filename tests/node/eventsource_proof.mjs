// Streams from the simulated Develocity Export API with the `eventsource` package and prints,
// as JSON, each message id it received with the number of the connection that brought it, how
// often it connected and the status that closed it.
//
// Usage: node eventsource_proof.mjs URL TOKEN [CLEAR_FAULTS_URL]
// With CLEAR_FAULTS_URL, the simulator's faults are cleared once the first connection opens, so
// only that first response suffers them, and the body is asked for uncompressed: when a
// connection breaks, Node's fetch drops whatever its gunzip still holds, so under load a cut
// gzipped response could deliver no message at all and prove nothing about resuming.
import {EventSource} from 'eventsource'

const [url, token, clearFaultsUrl] = process.argv.slice(2)

const encoding = clearFaultsUrl ? {'Accept-Encoding': 'identity'} : {}
const source = new EventSource(url, {
  fetch: (input, init) =>
    fetch(input, {
      ...init,
      headers: {...init.headers, ...encoding, Authorization: `Bearer ${token}`},
    }),
})
const received = []
let opens = 0
const record = (event) => received.push([opens, event.lastEventId])
source.addEventListener('Build', record)
source.addEventListener('BuildEvent', record)
source.addEventListener('open', async () => {
  opens += 1
  if (opens === 1 && clearFaultsUrl) {
    await fetch(clearFaultsUrl, {method: 'POST', body: ''})
  }
})
source.addEventListener('error', (event) => {
  if (source.readyState === EventSource.CLOSED) {
    console.log(JSON.stringify({received, opens, closedWith: event.code ?? null}))
    process.exit(0)
  }
})
setTimeout(() => {
  console.log(JSON.stringify({received, opens, closedWith: 'timeout'}))
  process.exit(1)
}, 30_000).unref()
