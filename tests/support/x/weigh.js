// Weighs post texts with X's own twitter-text (config v3) for papercast's X test
// server (tests/support/x.rs): reads one JSON string a line on stdin, answers one JSON
// line {"weightedLength": n, "valid": bool} each; exits when stdin closes.
'use strict'

const readline = require('node:readline')
const twitter = require('twitter-text')

const lines = readline.createInterface({ input: process.stdin })
lines.on('line', (line) => {
  let answer
  try {
    const { weightedLength, valid } = twitter.parseTweet(JSON.parse(line))
    answer = { weightedLength, valid }
  } catch (error) {
    answer = { error: String(error) }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
})
lines.on('close', () => process.exit(0))
