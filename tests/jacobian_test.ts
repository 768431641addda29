/**
 * jacfwd / jacrev / hessian over pytrees and with argnums, against Jacobians worked out by hand.
 */
import assert from "node:assert/strict";
import { type Array, assertAllclose, hessian, jacfwd, jacrev, jit, np } from "../mod.ts";

const diag = (v: number[]) => v.map((d, i) => v.map((_, j) => (i === j ? d : 0)));
const tol = { atol: 1e-5, rtol: 1e-5 };

Deno.test("jacfwd and jacrev: pytree in, pytree out, blocks of shape out ++ in", async () => {
  const a = [1, -2, 0.5];
  const b = [3, 4, -1];
  const f = (p: { a: Array; b: Array }) => ({ y: p.a.mul(p.b), s: p.a.square().sum() });
  for (const jac of [jacfwd, jacrev]) {
    const J = jac(f)({ a: np.array(a), b: np.array(b) });
    await assertAllclose(J.y.a, diag(b), tol, "dy/da");
    await assertAllclose(J.y.b, diag(a), tol, "dy/db");
    assert.deepEqual(J.s.a.shape, [3]);
    await assertAllclose(J.s.a, a.map((v) => 2 * v), tol, "ds/da");
    await assertAllclose(J.s.b, [0, 0, 0], tol, "ds/db");
  }
});

Deno.test("jacfwd and jacrev: argnums picks arguments; a list gives a tuple per output", async () => {
  const x = [0.3, -0.7];
  const c = [2, 5];
  const z = [1.1, -0.4];
  const f = (x: Array, c: Array, z: Array) => x.mul(c).add(np.sin(z));
  for (const jac of [jacfwd, jacrev]) {
    const [Jx, Jz] = jac(f, { argnums: [0, 2] })(np.array(x), np.array(c), np.array(z));
    await assertAllclose(Jx, diag(c), tol);
    await assertAllclose(Jz, diag(z.map(Math.cos)), tol);
    const Jc = jac(f, { argnums: 1 })(np.array(x), np.array(c), np.array(z));
    await assertAllclose(Jc, diag(x), tol);
  }
});

Deno.test("jacfwd and jacrev of a matrix product: J[i,j,k,l] = d(XX)[i,j]/dX[k,l]", async () => {
  const X = [[1, 2], [3, -1]];
  const want: number[][][][] = [];
  for (let i = 0; i < 2; i++) {
    want.push([]);
    for (let j = 0; j < 2; j++) {
      want[i].push([]);
      for (let k = 0; k < 2; k++) {
        // (XX)[i,j] = Σ_m X[i,m] X[m,j]: derivative by X[k,l] is δ_ik X[l,j] + X[i,k] δ_lj.
        want[i][j].push([0, 1].map((l) => (i === k ? X[l][j] : 0) + (l === j ? X[i][k] : 0)));
      }
    }
  }
  for (const jac of [jacfwd, jacrev]) {
    const J = jit(jac((x: Array) => np.matmul(x, x)))(np.array(X));
    assert.deepEqual(J.shape, [2, 2, 2, 2]);
    await assertAllclose(J, want, tol);
  }
});

Deno.test("hessian with argnums and pytrees", async () => {
  // f(a, b) = Σ a² b: H_aa = diag(2b), H_ab = H_ba = diag(2a), H_bb = 0.
  const a = [1, -3];
  const b = [0.5, 2];
  const f = (a: Array, b: Array) => a.square().mul(b).sum();
  const [[Haa, Hab], [Hba, Hbb]] = hessian(f, { argnums: [0, 1] })(np.array(a), np.array(b));
  await assertAllclose(Haa, diag(b.map((v) => 2 * v)), tol);
  await assertAllclose(Hab, diag(a.map((v) => 2 * v)), tol);
  await assertAllclose(Hba, diag(a.map((v) => 2 * v)), tol);
  await assertAllclose(Hbb, [[0, 0], [0, 0]], tol);
  // g(p) = c · (w0 + w1)²: H_ww = 2c·ones, H_wc = H_cw = 2(w0 + w1), H_cc = 0.
  const g = (p: { w: Array; c: Array }) => p.w.sum().square().mul(p.c);
  const H = hessian(g)({ w: np.array([1, 2]), c: np.array(4) });
  await assertAllclose(H.w.w, [[8, 8], [8, 8]], tol);
  await assertAllclose(H.w.c, [6, 6], tol);
  await assertAllclose(H.c.w, [6, 6], tol);
  await assertAllclose(H.c.c, 0, tol);
});

Deno.test("jacobians: clear errors for bad argnums and integer arguments", () => {
  const f = (x: Array) => x.mul(2);
  assert.throws(() => jacfwd(f, { argnums: 1 })(np.array([1])), /jacfwd: argnums 1 out of range for 1 arguments/);
  assert.throws(() => jacrev(f)(np.array([1], { dtype: "int32" })), /jacrev: argument of dtype int32/);
});
