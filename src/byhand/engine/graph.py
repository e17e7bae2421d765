"""A sheet's computation: named tensors and the ops between them.

A :class:`Graph` is built from a list of :class:`Node` (``op``, ``ins``, ``out``, ``attrs``) and the
shapes of its leaves (the tensors no op defines: inputs, weights, biases, targets). It checks
every op and shape with a one-line error, evaluates everything exactly (forward, then reverse mode
for ``grad`` nodes), and gives each computed cell its :class:`Relation` (its step).

``grad`` nodes name a gradient ``∂of/∂wrt``. Reverse mode needs the gradient of every tensor on
the way from ``wrt`` to ``of``; the graph declares those itself when a sheet does not (``dZ2``…),
so every gradient step refers only to cells that are on the sheet. Softmax followed by
cross-entropy is differentiated as one step, which gives the textbook ``P − Y``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from byhand.engine.ops import OPS, Attrs, Softmax, base_of, op, value_attr
from byhand.engine.relations import Cell, PolyRelation, Relation, Term, cell_str
from byhand.engine.tensor import MAX_SIDE, Shape, Tensor, indices, shape_str
from byhand.engine.values import MINUS, Value, fmt, fmt_factor, norm
from byhand.errors import GraphError, LimitError
from byhand.i18n import M_
from byhand.limits import MAX_CELLS, MAX_COMPUTED_SIDE, MAX_DIGITS, MAX_TERMS, check_value, limit
from byhand.notation import namer

ROLES = ("input", "weight", "bias", "target", "given", "computed", "loss", "grad")


@dataclass(frozen=True)
class Node:
    """One op on the sheet: ``out = op(*ins)``; a ``grad`` node has no ins and attrs of/wrt."""

    op: str
    ins: tuple[str, ...]
    out: str
    attrs: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {"op": self.op, "in": list(self.ins), "out": self.out}
        if self.attrs:
            d["attrs"] = dict(self.attrs)
        return d

    def __hash__(self) -> int:
        return hash((self.op, self.ins, self.out, tuple(sorted(self.attrs.items()))))


def grad_node(of: str, wrt: str, out: str) -> Node:
    return Node("grad", (), out, {"of": of, "wrt": wrt})


@dataclass
class Step:
    """One computed cell: the cells it uses and the arithmetic, as a person writes it."""

    cell: Cell
    uses: tuple[Cell, ...]
    text: str
    value: Value
    op: str
    phase: str


class Graph:
    def __init__(
        self,
        nodes: Sequence[Node],
        leaf_shapes: Mapping[str, Shape],
        roles: Mapping[str, str] | None = None,
        labels: Mapping[str, str] | None = None,
        notes: Mapping[str, str] | None = None,
    ):
        self.shapes: dict[str, Shape] = {}
        self.leaves: list[str] = []
        self._dep_cache: dict[str, set[str]] = {}
        for name, shp in leaf_shapes.items():
            self._check_name(name)
            if len(shp) > 2 or any(s < 1 or s > MAX_SIDE for s in shp):
                raise GraphError(
                    M_("tensor {name}: shape {shp} is not allowed; use a scalar, a vector or a matrix with sides 1…{max_side}",
                       name=name, shp=shp, max_side=MAX_SIDE)
                )
            self.shapes[name] = tuple(shp)
            self.leaves.append(name)
        self.defined_by: dict[str, int] = {}
        self._cells = sum(_size(s) for s in self.shapes.values())
        self._terms = 0
        fwd: list[Node] = []
        grads: list[Node] = []
        for n in nodes:
            (grads if n.op == "grad" else fwd).append(n)
        for n in fwd:
            self._add_forward(n, len(self.defined_by))
        self.forward_nodes = fwd
        self.consumers: dict[str, list[int]] = {}
        for k, n in enumerate(fwd):
            for name in dict.fromkeys(n.ins):
                self.consumers.setdefault(name, []).append(k)
        self.grad_nodes = self._normalise_grads(grads)
        for n in self.grad_nodes:
            self.shapes[n.out] = self.shapes[n.attrs["wrt"]]
        self.nodes: list[Node] = fwd + self.grad_nodes
        self.roles = self._roles(roles or {})
        self.labels = {name: (labels or {}).get(name, name) for name in self.shapes}
        for n in self.grad_nodes:
            if n.out not in (labels or {}):
                self.labels[n.out] = n.out
        self.notes = {k: v for k, v in (notes or {}).items() if k in self.shapes and v}
        self._relations: dict[Cell, Relation] | None = None
        self._forward_plan: list[tuple[Any, tuple[str, ...], str, Mapping[str, Any], str, Node]] | None = None

    # -- construction ---------------------------------------------------------------------

    @staticmethod
    def _check_name(name: str) -> None:
        if not isinstance(name, str) or not name or len(name) > 40:
            raise GraphError(M_("tensor name {name!r} is not allowed; use a short name such as W1", name=name))

    def _add_forward(self, n: Node, k: int) -> None:
        o = op(n.op)
        self._check_name(n.out)
        if o.arity >= 0 and len(n.ins) != o.arity:
            raise GraphError(M_("op {op} → {out}: takes {arity} input{s}, got {ins}",
                                op=n.op, out=n.out, arity=o.arity, s='s' if o.arity != 1 else '', ins=len(n.ins)))
        if n.out in n.ins:
            raise GraphError(
                M_("op {op} → {out}: an op cannot write to its own input; give the result a new name (tensor {out!r} "
                   "is defined twice)",
                   op=n.op, out=n.out)
            )
        for name in n.ins:
            if name not in self.shapes:
                raise GraphError(
                    M_("op {op} → {out}: tensor {name!r} is used before it is defined; give its values or compute it first",
                       op=n.op, out=n.out, name=name)
                )
        if n.out in self.shapes:
            raise GraphError(M_("tensor {out!r} is defined twice; give each computed tensor its own name", out=n.out))
        unknown = set(n.attrs) - set(o.attrs)
        if unknown:
            attr = sorted(unknown)[0]
            raise GraphError(M_("op {op} → {out}: unknown attribute {attr!r}; it takes {takes}", op=n.op, out=n.out,
                                attr=attr, takes=", ".join(o.attrs)) if o.attrs else
                             M_("op {op} → {out}: unknown attribute {attr!r}; it takes none", op=n.op, out=n.out, attr=attr))
        try:
            shp = o.check([self.shapes[i] for i in n.ins], dict(n.attrs), n.ins)
        except GraphError as e:
            raise GraphError(M_("op {op} → {out}: {e}", op=n.op, out=n.out, e=e)) from None
        self._check_size(n, shp)
        self.shapes[n.out] = shp
        self.defined_by[n.out] = k

    def _check_size(self, n: Node, shp: Shape) -> None:
        """Bounded work, checked before anything is computed: the sides of a computed tensor, the
        cells of the sheet, and the products its steps write out (stacks and products grow)."""
        if any(s > MAX_COMPUTED_SIDE for s in shp):
            raise LimitError(
                M_("op {op} → {out}: it makes a {shape_str}, wider than any sheet {limit}",
                   op=n.op, out=n.out, shape_str=shape_str(shp), limit=limit('side of a computed tensor', MAX_COMPUTED_SIDE))
            )
        cells = 1
        for s in shp:
            cells *= s
        inner = 1
        if n.op in ("matmul", "linear", "dot"):
            a = self.shapes[n.ins[0]]
            inner = a[-1] if a else 1
        elif n.op in ("sum", "half_sse", "cross_entropy", "softmax"):
            inner = 1
            for s in self.shapes[n.ins[0]]:
                inner *= s
        self._cells += cells
        self._terms += cells * max(inner, 1)
        if self._cells > MAX_CELLS:
            raise LimitError(M_("op {op} → {out}: the sheet has more than {max_cells} cells {limit}",
                                op=n.op, out=n.out, max_cells=MAX_CELLS, limit=limit('cells', MAX_CELLS)))
        if self._terms > MAX_TERMS:
            raise LimitError(
                M_("op {op} → {out}: the steps would write more than {max_terms} products {limit}",
                   op=n.op, out=n.out, max_terms=MAX_TERMS, limit=limit('products', MAX_TERMS))
            )

    def _depends(self, of: str) -> set[str]:
        """Every tensor ``of`` depends on (itself included)."""
        if of not in self._dep_cache:
            self._dep_cache[of] = self._depends_uncached(of)
        return self._dep_cache[of]

    def _depends_uncached(self, of: str) -> set[str]:
        seen = {of}
        stack = [of]
        while stack:
            t = stack.pop()
            k = self.defined_by.get(t)
            if k is not None:
                for i in self.forward_nodes[k].ins:
                    if i not in seen:
                        seen.add(i)
                        stack.append(i)
        return seen

    def softmax_at(self, k: int) -> tuple[str, list[str]] | None:
        """Does forward node k start a softmax? Either the ``softmax`` op, or the method's columns
        written out: ``E = exp(Z)`` (base 3: 3ᶻ), ``S = colsum(E)`` (Σ), ``P = div(E, S)``, with E
        and S used by nothing else. → (P, the tensors between Z and P, P last)."""
        n = self.forward_nodes[k]
        if n.op == "softmax":
            return n.out, [n.out]
        if n.op != "exp":
            return None
        e = n.out
        users = [self.forward_nodes[j] for j in self.consumers.get(e, [])]
        if len(users) != 2:
            return None
        col = next((u for u in users if u.op == "colsum" and u.ins == (e,)), None)
        div = next((u for u in users if u.op == "div" and u.ins[0] == e), None)
        if col is None or div is None or div.ins[1] != col.out or len(self.consumers.get(col.out, [])) != 1:
            return None
        return div.out, [e, col.out, div.out]

    def fused(self, k: int, of: str) -> bool:
        """Does forward node k start a softmax whose output feeds only a cross-entropy that is ``of``?"""
        sm = self.softmax_at(k)
        if sm is None:
            return False
        p = sm[0]
        n = self.forward_nodes[k]
        cs = self.consumers.get(p, [])
        if len(cs) != 1:
            return False
        c = self.forward_nodes[cs[0]]
        return (
            c.op == "cross_entropy"
            and c.out == of
            and c.ins[0] == p
            and c.ins[1] != p
            and base_of(dict(c.attrs)) == base_of(dict(n.attrs))
        )

    def _fused_ps(self, of: str) -> set[str]:
        """The probabilities P of every softmax fused with the cross-entropy ``of``."""
        cache: dict[str, set[str]] = self.__dict__.setdefault("_fused_cache", {})
        if of not in cache:
            cache[of] = self._fused_ps_uncached(of)
        return cache[of]

    def _fused_ps_uncached(self, of: str) -> set[str]:
        out = set()
        for k in range(len(self.forward_nodes)):
            if self.fused(k, of):
                sm = self.softmax_at(k)
                assert sm is not None
                out.add(sm[0])
        return out

    def _path(self, of: str, wrt: set[str]) -> set[str]:
        """Tensors on a path from any of ``wrt`` to ``of`` (they all need a gradient)."""
        deps = self._depends(of)
        on: set[str] = set()
        # forward reachability from wrt, restricted to deps
        reach = set(w for w in wrt if w in deps)
        for n in self.forward_nodes:
            if n.out in deps and any(i in reach for i in n.ins):
                reach.add(n.out)
        for t in reach:
            on.add(t)
        return on

    def _normalise_grads(self, grads: list[Node]) -> list[Node]:
        if not grads:
            return []
        declared: dict[tuple[str, str], str] = {}
        for n in grads:
            of, wrt = n.attrs.get("of"), n.attrs.get("wrt")
            extra = set(n.attrs) - {"of", "wrt"}
            if n.ins:
                raise GraphError(M_('grad → {out}: takes no inputs; name them in attrs "of" and "wrt"', out=n.out))
            if extra:
                raise GraphError(M_("grad → {out}: unknown attribute {extra!r}; it takes of and wrt",
                                    out=n.out, extra=sorted(extra)[0]))
            if not isinstance(of, str) or of not in self.shapes:
                raise GraphError(M_('grad → {out}: attribute "of" must name a tensor of the sheet, not {of!r}', out=n.out, of=of))
            if not isinstance(wrt, str) or wrt not in self.shapes:
                raise GraphError(M_('grad → {out}: attribute "wrt" must name a tensor of the sheet, not {wrt!r}',
                                    out=n.out, wrt=wrt))
            if self.shapes[of] != ():
                raise GraphError(
                    M_("grad → {out}: {of} is a {shape_str}; a gradient is taken of a scalar (a loss)",
                       out=n.out, of=of, shape_str=shape_str(self.shapes[of]))
                )
            if wrt not in self._depends(of):
                raise GraphError(M_("grad → {out}: {of} does not depend on {wrt}", out=n.out, of=of, wrt=wrt))
            if n.out in self.shapes or n.out in declared.values():
                raise GraphError(M_("tensor {out!r} is defined twice; give each gradient its own name", out=n.out))
            self._check_name(n.out)
            if (of, wrt) in declared:
                raise GraphError(M_("grad of {of} with respect to {wrt} is asked twice ({declared} and {out})",
                                    of=of, wrt=wrt, declared=declared[(of, wrt)], out=n.out))
            declared[(of, wrt)] = n.out
        self.grad_name: dict[tuple[str, str], str] = dict(declared)
        out: list[Node] = []
        taken = set(self.shapes) | set(declared.values())
        for of in dict.fromkeys(k[0] for k in declared):
            wrts = {w for (o, w) in declared if o == of}
            need = self._path(of, wrts) - {of}
            for k in range(len(self.forward_nodes)):
                if self.fused(k, of):
                    sm = self.softmax_at(k)
                    assert sm is not None
                    if (of, sm[0]) not in declared:  # the gradient jumps from L to Z: P − Y
                        need.difference_update(t for t in sm[1] if (of, t) not in declared)
            for t in sorted(need):
                if (of, t) not in declared:
                    for cand in (f"d{t}", f"d{of}_d{t}"):
                        if cand not in taken:
                            break
                    else:  # pragma: no cover - two names are always enough in practice
                        raise GraphError(M_("no free name for the gradient of {of} with respect to {t}", of=of, t=t))
                    taken.add(cand)
                    self.grad_name[(of, t)] = cand
            # the order of reverse mode: later ops first; a gradient once all its consumers are done
            order: list[str] = []
            for k in range(len(self.forward_nodes) - 1, -1, -1):
                n = self.forward_nodes[k]
                if n.out == of and (of, of) in self.grad_name:
                    order.append(of)
                for i in n.ins:
                    if (of, i) in self.grad_name and i not in order and self._first_consumer(i, of) == k:
                        order.append(i)
            for t in order:
                out.append(grad_node(of, t, self.grad_name[(of, t)]))
        return out

    def _first_consumer(self, t: str, of: str) -> int:
        """The earliest op (on the way to ``of``) that uses t: in reverse mode, t's gradient is
        complete only once the gradient has come back through that op."""
        deps = self._depends(of)
        ks = [k for k in self.consumers.get(t, []) if self.forward_nodes[k].out in deps]
        return min(ks) if ks else -1

    def _roles(self, given: Mapping[str, str]) -> dict[str, str]:
        roles: dict[str, str] = {}
        for name in self.leaves:
            roles[name] = "given"
        for n in self.forward_nodes:
            if n.op == "linear":
                for name, r in zip(n.ins, ("weight", "bias", "input")):
                    if name in self.leaves and roles[name] == "given":
                        roles[name] = r
            if n.op in ("half_sse", "cross_entropy"):
                if n.ins[1] in self.leaves:
                    roles[n.ins[1]] = "target"
                roles[n.out] = "loss"
            elif n.out not in roles:
                roles[n.out] = "computed"
        for n in self.grad_nodes:
            roles[n.out] = "grad"
        for name, r in given.items():
            if name in roles:
                if r not in ROLES:
                    raise GraphError(M_("tensor {name}: role {r!r} is unknown; use one of {roles}",
                                        name=name, r=r, roles=', '.join(ROLES)))
                roles[name] = r
        return roles

    # -- evaluation -----------------------------------------------------------------------

    def evaluate(self, leaves: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Every tensor of the sheet, exactly, from the leaves."""
        vals: dict[str, Tensor] = {}
        for name in self.leaves:
            t = leaves.get(name)
            if t is None:
                raise GraphError(M_("tensor {name} has no values; give it as a {shape_str}",
                                    name=name, shape_str=shape_str(self.shapes[name])))
            if t.shape != self.shapes[name]:
                raise GraphError(M_("tensor {name} should be a {shape_str}, got a {shape_str2}",
                                    name=name, shape_str=shape_str(self.shapes[name]), shape_str2=shape_str(t.shape)))
            vals[name] = t
        plan = self._forward_plan
        if plan is None:  # each node's forward and words, looked up once per graph, not once a variant
            plan = self._forward_plan = [(OPS[n.op].forward, n.ins, n.out, n.attrs, f"op {n.op} → {n.out}", n)
                                         for n in self.forward_nodes]
        for forward, ins, out, attrs, where, n in plan:
            try:
                vals[out] = t = forward([vals[i] for i in ins], dict(attrs))
            except LimitError as e:
                raise LimitError(M_("op {op} → {out}: {e}", op=n.op, out=n.out, e=e)) from None
            except ZeroDivisionError:
                raise GraphError(M_("op {op} → {out}: it divides by zero; change the value it divides by",
                                    op=n.op, out=n.out)) from None
            except (OverflowError, ValueError) as e:
                raise GraphError(M_("op {op} → {out}: the values cannot be computed ({e}); use smaller values",
                                    op=n.op, out=n.out, e=e)) from None
            _check_values(t.data, where)
        for of in dict.fromkeys(n.attrs["of"] for n in self.grad_nodes):
            try:
                adj = self.backward(of, vals)
            except ZeroDivisionError:
                raise GraphError(M_("the gradient of {of} divides by zero; change the values", of=of)) from None
            except (OverflowError, ValueError) as e:
                raise GraphError(M_("the gradient of {of} cannot be computed ({e}); use smaller values", of=of, e=e)) from None
            for n in self.grad_nodes:
                if n.attrs["of"] == of:
                    vals[n.out] = adj[n.attrs["wrt"]]
                    _check_values(vals[n.out].data, f"grad → {n.out}")
        return vals

    def backward(self, of: str, vals: Mapping[str, Tensor]) -> dict[str, Tensor]:
        """Reverse mode: the exact gradient of scalar ``of`` with respect to every tensor it uses."""
        adj: dict[str, Tensor] = {of: Tensor((), [1])}
        deps = self._depends(of)
        for k in range(len(self.forward_nodes) - 1, -1, -1):
            n = self.forward_nodes[k]
            if n.out not in deps:
                continue
            if self.fused(k, of):  # softmax + cross-entropy as one step: P − Y
                grads: list[Tensor | None] = [self._fused_vjp(n, vals, adj[of].data[0])]
            elif n.out not in adj:
                continue
            elif n.op == "cross_entropy" and n.ins[0] in self._fused_ps(of):
                continue  # done with its softmax
            else:
                grads = OPS[n.op].vjp([vals[i] for i in n.ins], vals[n.out], adj[n.out], dict(n.attrs))
            for name, g in zip(n.ins, grads):
                if g is None or name not in deps:
                    continue
                if name in adj:
                    adj[name] = Tensor(g.shape, [norm(a + b) for a, b in zip(adj[name].data, g.data)])
                else:
                    adj[name] = g
                _check_values(adj[name].data, f"the gradient of {of} with respect to {name}")
        for name in deps:
            if name not in adj:
                adj[name] = Tensor.full(self.shapes[name], 0)
        return adj

    def _fused_target(self, n: Node) -> tuple[str, Attrs]:
        """(Y, the softmax's attrs) for the head of a fused softmax."""
        p = self._fused_p(n)
        c = self.forward_nodes[self.consumers[p][0]]
        return c.ins[1], dict(n.attrs)

    def _fused_p(self, n: Node) -> str:
        sm = self.softmax_at(self.forward_nodes.index(n))
        assert sm is not None
        return sm[0]

    def _fused_vjp(self, n: Node, vals: Mapping[str, Tensor], g: Value) -> Tensor:
        """∂L/∂Z for L = cross_entropy(softmax(Z), Y): (P·ΣY − Y)/T per column."""
        y_name, attrs = self._fused_target(n)
        p, y = vals[self._fused_p(n)], vals[y_name]
        t = value_attr(attrs, "temperature", 1)
        rows = p.shape[0]
        cols = p.shape[1] if len(p.shape) == 2 else 1
        out: list[Value] = []
        for i in range(rows):
            for j in range(cols):
                sy = sum((y.data[r * cols + j] for r in range(rows)), 0)
                q = i * cols + j
                v = (p.data[q] * sy - y.data[q]) * g
                out.append(norm(v / t if isinstance(v, float) or isinstance(t, float) else Fraction(v) / Fraction(t)))
        return Tensor(p.shape, out)

    # -- relations and steps --------------------------------------------------------------

    def relations(self) -> dict[Cell, Relation]:
        """The relation defining every computed cell (forward and gradient), in step order."""
        if self._relations is None:
            rels: dict[Cell, Relation] = {}
            for n in self.forward_nodes:
                o = OPS[n.op]
                for r in o.relations(n.ins, n.out, [self.shapes[i] for i in n.ins], self.shapes[n.out], dict(n.attrs)):
                    rels[r.out] = r
            cache: dict[int, dict[Cell, list[tuple[Cell | None, list[Term]]]]] = {}
            for g in self.grad_nodes:
                of, wrt = g.attrs["of"], g.attrs["wrt"]
                for idx in indices(self.shapes[wrt]):
                    rels[(g.out, idx)] = self._grad_relation(of, (wrt, idx), g.out, rels, cache)
            self._relations = rels
        return self._relations

    def _partials_of_node(
        self, k: int, of: str, rels: dict[Cell, Relation], cache: dict[int, dict[Cell, list[tuple[Cell | None, list[Term]]]]]
    ) -> dict[Cell, list[tuple[Cell | None, list[Term]]]]:
        """For node k: input cell → [(gradient cell of the output it feeds, ∂out/∂in terms)]."""
        key = k * 1000003 + hash(of) % 1000003
        if key in cache:
            return cache[key]
        n = self.forward_nodes[k]
        res: dict[Cell, list[tuple[Cell | None, list[Term]]]] = {}
        if self.fused(k, of):
            y_name, attrs = self._fused_target(n)
            t = value_attr(attrs, "temperature", 1)
            inv_t = Fraction(1) / Fraction(t) if not isinstance(t, float) else 1 / t
            inv_t = norm(inv_t)
            p_name = self._fused_p(n)
            shape = self.shapes[p_name]
            rows = shape[0]
            for idx in indices(shape):
                j = idx[1] if len(idx) == 2 else None
                col = [(y_name, (r, j) if j is not None else (r,)) for r in range(rows)]
                terms = [Term(inv_t, ((p_name, idx), yc)) for yc in col] + [Term(-inv_t, ((y_name, idx),))]
                res[(n.ins[0], idx)] = [(None, terms)]
        else:
            o = OPS[n.op]
            for oc in indices(self.shapes[n.out]):
                r = rels[(n.out, oc)]
                gcell = None if n.out == of else (self.grad_name[(of, n.out)], oc)
                for c, ts in o.partials(r, n.ins, dict(n.attrs)).items():
                    res.setdefault(c, []).append((gcell, ts))
        cache[key] = res
        return res

    def _grad_relation(
        self,
        of: str,
        x: Cell,
        out: str,
        rels: dict[Cell, Relation],
        cache: dict[int, dict[Cell, list[tuple[Cell | None, list[Term]]]]],
    ) -> Relation:
        name = x[0]
        if name == of:
            return PolyRelation((out, x[1]), [Term(1)], "grad", phase="backward", style="const")
        deps = self._depends(of)
        terms: list[Term] = []
        fused_text = False
        for k in self.consumers.get(name, []):
            n = self.forward_nodes[k]
            if n.out not in deps:
                continue
            if n.op == "cross_entropy" and n.ins[0] in self._fused_ps(of):
                continue
            fused_text = fused_text or self.fused(k, of)
            for gcell, ts in self._partials_of_node(k, of, rels, cache).get(x, []):
                terms += [t.times(gcell) for t in ts]
        style = "relu" if len(terms) == 1 and terms[0].gate is not None else "sum"
        rel = PolyRelation((out, x[1]), terms, "grad", phase="backward", style=style)
        if fused_text and len(terms) == len([t for t in terms if t.coef != 0]):
            rel.text_fn = _p_minus_y_text(rel, terms)
        if not terms:
            rel.style = "const"
        return rel

    def steps(self, vals: Mapping[str, Tensor], precision: int = 3) -> Iterator[Step]:
        """Every computed cell in the order a person computes them: forward ops in order, each
        tensor row by row; then the gradients, from the loss backwards."""
        rels = self.relations()
        name = namer(self, english=True)  # the exercise file keeps its steps in English; each view translates them

        def get(c: Cell) -> Value:
            return vals[c[0]][c[1]]  # type: ignore[no-any-return]

        for n in self.nodes:
            for idx in indices(self.shapes[n.out]):
                r = rels[(n.out, idx)]
                # a gradient computed by explicit ops (conv's dF = dY·Cᵀ, gan's crossings) is backward too
                phase = "backward" if self.roles.get(n.out) == "grad" else r.phase
                yield Step((n.out, idx), r.uses, r.text(get, precision, name), get((n.out, idx)), r.op, phase)


def _p_minus_y_text(rel: PolyRelation, terms: list[Term]) -> Any:
    """Text of the fused softmax + cross-entropy gradient: ``P − Y`` (divided by T if T ≠ 1)."""
    p_cell = terms[0].cells[0]
    y_cell = terms[-1].cells[0]
    inv_t = terms[-1].coef * -1
    uses = list(rel.uses)
    ip, iy = uses.index(p_cell), uses.index(y_cell)
    iys = [k for k, c in enumerate(uses) if c[0] == y_cell[0]]

    def text(v: list[Value], r: Value, p: int) -> str:
        sy = sum((v[k] for k in iys), 0)
        core = (
            f"{fmt(v[ip], p)} {MINUS} {fmt_factor(v[iy], p)}"
            if sy == 1
            else f"{fmt(v[ip], p)}·{fmt_factor(sy, p)} {MINUS} {fmt_factor(v[iy], p)}"
        )
        if inv_t != 1:
            core = f"({core})·{fmt_factor(inv_t, p)}"
        return f"{core} = {fmt(r, p)}"

    return text


_BIG = 10**MAX_DIGITS


def _check_values(vs: list[Value], where: str) -> None:
    """:func:`byhand.limits.check_values`, with a Fraction's digits checked here too (a softmax's
    fractions are checked cell by cell for every variant); anything out of bounds, or any other
    type, goes to ``check_value``, which says what is wrong."""
    big = _BIG
    for v in vs:
        t = type(v)
        if t is int:
            if -big < v < big:
                continue
        elif t is Fraction:
            if -big < v.numerator < big and v.denominator < big:  # type: ignore[union-attr]
                continue
        check_value(v, where)


def _size(s: Shape) -> int:
    n = 1
    for x in s:
        n *= x
    return n


def describe(c: Cell) -> str:
    return cell_str(c)


__all__ = ["Graph", "Node", "Step", "grad_node", "describe", "ROLES", "Softmax"]
