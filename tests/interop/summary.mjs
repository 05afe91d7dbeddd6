// Reads the JUnit report of `node --test --test-reporter=junit` and prints one line per top-level suite
// ("gateway: 40 passed, 0 failed, 0 skipped"), then a last line of three numbers, passed failed skipped, for
// ./scripts/test.sh to add to its closing line. Usage: node summary.mjs REPORT.xml

import { readFileSync } from 'node:fs';

const xml = readFileSync(process.argv[2], 'utf8');
const suites = new Map();
const total = { passed: 0, failed: 0, skipped: 0 };
const stack = [];
let current; // the testcase being read, when it has a body

const decode = (text) => text.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

for (const [, closing, tag, attributes, selfClosing] of xml.matchAll(/<(\/?)(testsuite|testcase|failure|skipped)\b([^>]*?)(\/?)>/g)) {
  if (tag === 'testsuite') {
    if (closing) {
      stack.pop();
    } else if (!selfClosing) {
      stack.push(decode(/name="([^"]*)"/.exec(attributes)?.[1] ?? '(unnamed)'));
    }
  } else if (tag === 'testcase') {
    if (closing) {
      count(current);
      current = undefined;
    } else {
      const testcase = { suite: stack[0] ?? '(top level)', outcome: 'passed' };
      if (selfClosing) {
        count(testcase);
      } else {
        current = testcase;
      }
    }
  } else if (current && !closing) {
    current.outcome = tag === 'failure' ? 'failed' : 'skipped';
  }
}

function count({ suite, outcome }) {
  if (!suites.has(suite)) {
    suites.set(suite, { passed: 0, failed: 0, skipped: 0 });
  }
  suites.get(suite)[outcome] += 1;
  total[outcome] += 1;
}

for (const [suite, counts] of suites) {
  console.log(`${suite}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped`);
}
console.log(`${total.passed} ${total.failed} ${total.skipped}`);
