// Randomized response on the reviewer's side: the service only ever receives the perturbed
// profile. The same algorithm as redaction/review/privacy.py (a test checks they agree).
"use strict";
(function (global) {
  function keepProbability(epsilon) {
    if (!(epsilon > 0)) throw new Error("epsilon must be > 0");
    return Math.exp(epsilon) / (1 + Math.exp(epsilon));
  }

  // A uniform draw in [0, 1) from the browser's CSPRNG.
  function secureRandom() {
    const a = new Uint32Array(1);
    crypto.getRandomValues(a);
    return a[0] / 4294967296;
  }

  // Each item of vocab is a yes/no answer (is it in selected?): kept with probability
  // e^eps / (1 + e^eps), flipped otherwise. One draw per item, in vocab order.
  function perturb(selected, vocab, epsilon, rand) {
    const p = keepProbability(epsilon);
    const draw = rand || secureRandom;
    const truth = new Set(selected);
    const out = [];
    for (const item of vocab) {
      let answer = truth.has(item);
      if (draw() >= p) answer = !answer;
      if (answer) out.push(item);
    }
    return out;
  }

  global.RR = { keepProbability, perturb, secureRandom };
})(window);
