// einsum: the subscripts are parsed here and the contraction is carried out with diagonal, sum,
// permute, reshape, expand and batched matmul, whose gradients give einsum's.
#include <algorithm>
#include <cctype>
#include <string>

#include "op.hpp"

namespace backprop {
namespace {

using Labels = std::vector<int>;
constexpr int kLetters = 52;  // 'A'-'Z' then 'a'-'z'; dims under '...' get labels from 52 on

int letter_label(char c) { return std::isupper(static_cast<unsigned char>(c)) ? c - 'A' : 26 + (c - 'a'); }

std::string label_name(int l) {
  if (l >= kLetters) return "...";
  return std::string(1, l < 26 ? static_cast<char>('A' + l) : static_cast<char>('a' + l - 26));
}

[[noreturn]] void fail(const std::string& what) { throw ValueError("einsum: " + what); }

// One term: its letters, and where '...' stands among them (-1 when absent).
struct Term {
  Labels letters;
  int ellipsis_at = -1;
};

Term parse_term(const std::string& s, const std::string& where) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.') {
      if (s.compare(i, 3, "...") != 0 || t.ellipsis_at >= 0)
        fail("invalid subscript '" + s + "' in " + where + ": '.' may only appear once, as '...'");
      t.ellipsis_at = static_cast<int>(t.letters.size());
      i += 2;
    } else if (std::isalpha(static_cast<unsigned char>(c))) {
      t.letters.push_back(letter_label(c));
    } else {
      fail(std::string("invalid subscript character '") + c + "' in " + where + "; use letters a-z, A-Z and '...'");
    }
  }
  return t;
}

// The full label list of a term for an operand with `ndim` dims; '...' covers `e` of them,
// numbered from the right so that broadcast dims line up across operands.
Labels expand_term(const Term& t, int64_t e, int64_t max_e) {
  Labels out(t.letters.begin(), t.letters.begin() + (t.ellipsis_at < 0 ? t.letters.size() : t.ellipsis_at));
  for (int64_t j = 0; j < e; ++j) out.push_back(kLetters + static_cast<int>(max_e - e + j));
  if (t.ellipsis_at >= 0) out.insert(out.end(), t.letters.begin() + t.ellipsis_at, t.letters.end());
  return out;
}

bool has(const Labels& ls, int l) { return std::find(ls.begin(), ls.end(), l) != ls.end(); }
int64_t pos(const Labels& ls, int l) { return std::find(ls.begin(), ls.end(), l) - ls.begin(); }

struct Operand {
  Tensor t;
  Labels labels;
};

// Sums away the dims whose labels are not in `keep`.
void sum_out(Operand& op, const Labels& keep) {
  std::vector<int64_t> dims;
  Labels rest;
  for (size_t d = 0; d < op.labels.size(); ++d) {
    if (has(keep, op.labels[d]))
      rest.push_back(op.labels[d]);
    else
      dims.push_back(static_cast<int64_t>(d));
  }
  if (dims.empty()) return;
  op.t = sum(op.t, dims, false);
  op.labels = rest;
}

Tensor arrange(const Operand& op, const Labels& order, const Shape& merged) {
  std::vector<int64_t> perm;
  for (int l : order) perm.push_back(pos(op.labels, l));
  return reshape(permute(op.t, perm), merged);
}

// a and b contracted over their shared labels not in `keep`, as one batched matmul.
Operand contract(Operand a, Operand b, const Labels& keep, const std::vector<int64_t>& size) {
  Labels keep_a = keep, keep_b = keep;
  keep_a.insert(keep_a.end(), b.labels.begin(), b.labels.end());
  keep_b.insert(keep_b.end(), a.labels.begin(), a.labels.end());
  sum_out(a, keep_a);
  sum_out(b, keep_b);
  Labels batch, contracted, a_only, b_only;
  for (int l : a.labels) {
    if (has(b.labels, l))
      (has(keep, l) ? batch : contracted).push_back(l);
    else
      a_only.push_back(l);
  }
  for (int l : b.labels)
    if (!has(a.labels, l)) b_only.push_back(l);
  auto extent = [&](const Labels& ls) {
    int64_t n = 1;
    for (int l : ls) n *= size[l];
    return n;
  };
  int64_t nb = extent(batch), m = extent(a_only), k = extent(contracted), n = extent(b_only);
  Labels order_a = batch, order_b = batch;
  order_a.insert(order_a.end(), a_only.begin(), a_only.end());
  order_a.insert(order_a.end(), contracted.begin(), contracted.end());
  order_b.insert(order_b.end(), contracted.begin(), contracted.end());
  order_b.insert(order_b.end(), b_only.begin(), b_only.end());
  Tensor prod = matmul(arrange(a, order_a, {nb, m, k}), arrange(b, order_b, {nb, k, n}));
  Operand out;
  out.labels = batch;
  out.labels.insert(out.labels.end(), a_only.begin(), a_only.end());
  out.labels.insert(out.labels.end(), b_only.begin(), b_only.end());
  Shape shape;
  for (int l : out.labels) shape.push_back(size[l]);
  out.t = reshape(prod, shape);
  return out;
}

}  // namespace

Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands) {
  if (operands.empty()) fail("at least one operand is required");
  std::string eq;
  for (char c : equation)
    if (!std::isspace(static_cast<unsigned char>(c))) eq.push_back(c);
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  std::vector<Term> terms;
  size_t start = 0;
  for (size_t i = 0; i <= lhs.size(); ++i)
    if (i == lhs.size() || lhs[i] == ',') {
      terms.push_back(parse_term(lhs.substr(start, i - start), "operand " + std::to_string(terms.size())));
      start = i + 1;
    }
  if (terms.size() != operands.size())
    fail("the equation '" + equation + "' has " + std::to_string(terms.size()) + " operand subscripts but " +
         std::to_string(operands.size()) + " tensors were given");

  int64_t max_e = 0;
  std::vector<int64_t> ell(terms.size());
  for (size_t i = 0; i < terms.size(); ++i) {
    int64_t letters = static_cast<int64_t>(terms[i].letters.size()), nd = operands[i].dim();
    if (terms[i].ellipsis_at < 0 ? letters != nd : letters > nd)
      fail("operand " + std::to_string(i) + " has " + std::to_string(nd) + " dims (shape " +
           shape_str(operands[i].shape()) + ") but its subscripts name " + std::to_string(letters));
    ell[i] = nd - letters;
    max_e = std::max(max_e, ell[i]);
  }

  std::vector<Operand> ops(operands.size());
  std::vector<int> count(kLetters + max_e, 0);
  for (size_t i = 0; i < operands.size(); ++i) {
    ops[i].t = operands[i];
    ops[i].labels = expand_term(terms[i], ell[i], max_e);
    // Counted as written: a letter repeated within one operand ("ii") is summed, not kept.
    for (int l : ops[i].labels) ++count[l];
  }

  // Repeated labels within one operand take its diagonal ('ii->i').
  for (size_t i = 0; i < ops.size(); ++i) {
    Operand& op = ops[i];
    for (bool again = true; again;) {
      again = false;
      for (size_t d1 = 0; d1 < op.labels.size() && !again; ++d1)
        for (size_t d2 = d1 + 1; d2 < op.labels.size() && !again; ++d2)
          if (op.labels[d1] == op.labels[d2]) {
            int l = op.labels[d1];
            if (op.t.shape()[d1] != op.t.shape()[d2])
              fail("subscript '" + label_name(l) + "' is repeated in operand " + std::to_string(i) +
                   " for dims of different sizes " + std::to_string(op.t.shape()[d1]) + " and " +
                   std::to_string(op.t.shape()[d2]));
            op.t = diagonal(op.t, 0, static_cast<int64_t>(d1), static_cast<int64_t>(d2));
            op.labels.erase(op.labels.begin() + d2);
            op.labels.erase(op.labels.begin() + d1);
            op.labels.push_back(l);
            again = true;
          }
    }
  }

  // Sizes per label; size-1 dims broadcast against the others.
  std::vector<int64_t> size(count.size(), -1);
  for (size_t i = 0; i < ops.size(); ++i)
    for (size_t d = 0; d < ops[i].labels.size(); ++d) {
      int l = ops[i].labels[d];
      int64_t s = ops[i].t.shape()[d];
      if (size[l] < 0 || size[l] == 1)
        size[l] = s;
      else if (s != 1 && s != size[l])
        fail("subscript '" + label_name(l) + "' has size " + std::to_string(s) + " in operand " + std::to_string(i) +
             " but size " + std::to_string(size[l]) + " elsewhere; sizes must match or be 1");
    }

  Labels out_labels;
  if (arrow == std::string::npos) {
    for (int64_t j = 0; j < max_e; ++j) out_labels.push_back(kLetters + static_cast<int>(j));
    for (int l = 0; l < kLetters; ++l)
      if (count[l] == 1) out_labels.push_back(l);
  } else {
    Term out = parse_term(eq.substr(arrow + 2), "the output");
    out_labels = expand_term(out, out.ellipsis_at >= 0 ? max_e : 0, max_e);
    for (size_t i = 0; i < out_labels.size(); ++i) {
      int l = out_labels[i];
      if (l < kLetters && count[l] == 0)
        fail("output subscript '" + label_name(l) + "' does not appear in any operand");
      if (std::count(out_labels.begin(), out_labels.end(), l) > 1 && l < kLetters)
        fail("output subscript '" + label_name(l) + "' appears more than once");
    }
  }

  for (Operand& op : ops) {
    Shape full;
    for (int l : op.labels) full.push_back(size[l]);
    if (full != op.t.shape()) op.t = expand(op.t, full);
  }

  // Left to right, each step keeping the labels the output or a later operand still needs.
  Operand cur = ops[0];
  for (size_t i = 0; i < ops.size(); ++i) {
    Labels keep = out_labels;
    for (size_t j = i + 1; j < ops.size(); ++j) keep.insert(keep.end(), ops[j].labels.begin(), ops[j].labels.end());
    if (i == 0) {
      sum_out(cur, keep);
    } else {
      cur = contract(cur, ops[i], keep, size);
    }
  }
  std::vector<int64_t> perm;
  for (int l : out_labels) perm.push_back(pos(cur.labels, l));
  return permute(cur.t, perm);
}

}  // namespace backprop
