// The baseline for bench/develocity_events.py: one build's events read with the npm `eventsource`
// package (the client the Develocity manual recommends), doing what `buildwatch events ID --json`
// does: check each message is JSON and write it as one line to stdout. It stops when the body
// ends (a fault-free run needs no resume).
//
// Usage: node bench/node/events.cjs URL TOKEN  (after `npm install` in bench/node)
'use strict'
const {EventSource} = require('eventsource')

const [url, token] = process.argv.slice(2)
const source = new EventSource(url, {
  fetch: (input, init) =>
    fetch(input, {
      ...init,
      headers: {...init.headers, Authorization: `Bearer ${token}`, 'Accept-Encoding': 'gzip'},
    }),
})
let lines = []
const flush = () => {
  if (lines.length) {
    process.stdout.write(lines.join(''))
    lines = []
  }
}
const onMessage = (event) => {
  JSON.parse(event.data)
  lines.push(event.data + '\n')
  if (lines.length >= 1000) flush()
}
source.addEventListener('Build', onMessage)
source.addEventListener('BuildEvent', onMessage)
source.addEventListener('error', () => {
  source.close()
  flush()
})
