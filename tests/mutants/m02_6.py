"""Plausible wrong answers for m02_6_compilers_in_python.

The tests of one exercise never call another exercise's function (the
pipeline demo does, but it is not graded), so every mutant fails only its
own exercise.
"""

from tests.mutants import M

NB = "m02_6_compilers_in_python"

MUTANTS = [
    # node_counts
    M(NB, "m02_node_counts_answer", 'kind = f"call_module:{type(gm.get_submodule(node.target)).__name__}"',
      'kind = f"call_module:{node.target}"', "m02_node_counts", "modules keyed by their attribute name, not class"),
    M(NB, "m02_node_counts_answer", 'kind = f"call_method:{node.target}"', 'kind = f"call_function:{node.target}"',
      "m02_node_counts", "methods counted as functions"),
    M(NB, "m02_node_counts_answer", "        else:\n            kind = node.op\n", "        else:\n            continue\n",
      "m02_node_counts", "placeholders, get_attr and output not counted"),
    M(NB, "m02_node_counts_answer", "type(gm.get_submodule(node.target))", "type(getattr(gm, node.target))",
      "m02_node_counts", "getattr on a dotted path (fails only nested submodules)", hidden_only=True),
    # fuse_linear_activation
    M(NB, "m02_fuse_linear_activation_answer", "    gm = copy.deepcopy(gm)\n", "",
      "m02_fuse_linear_activation", "edits the graph it was given"),
    M(NB, "m02_fuse_linear_activation_answer", "act = activation_of(gm, user)",
      'act = activation_of(gm, user) if user.op == "call_module" else None',
      "m02_fuse_linear_activation", "only activation modules, not F.relu or x.relu()"),
    M(NB, "m02_fuse_linear_activation_answer",
      "        if len(node.users) != 1:\n            continue\n        (user,) = node.users\n",
      "        user = next(iter(node.users))\n",
      "m02_fuse_linear_activation", "fuses a linear layer whose output is also used elsewhere", hidden_only=True),
    M(NB, "m02_fuse_linear_activation_answer", "FusedLinearAct(gm.get_submodule(node.target), act)",
      "FusedLinearAct(copy.deepcopy(gm.get_submodule(node.target)), act)",
      "m02_fuse_linear_activation", "each fused call gets its own copy of the weights", hidden_only=True),
    # eliminate_dead_code
    M(NB, "m02_eliminate_dead_code_answer", "for node in list(reversed(graph.nodes)):", "for node in list(graph.nodes):",
      "m02_eliminate_dead_code", "walks forwards: chains of dead nodes survive"),
    M(NB, "m02_eliminate_dead_code_answer",
      "    for node in list(reversed(graph.nodes)):\n        if not node.users and not has_side_effects(node):\n"
      "            graph.erase_node(node)\n", "    graph.eliminate_dead_code()\n",
      "m02_eliminate_dead_code", "fx's own pass (deletes the in-place h.relu_())"),
    M(NB, "m02_eliminate_dead_code_answer", "    gm = copy.deepcopy(gm)\n", "",
      "m02_eliminate_dead_code", "edits the graph it was given"),
    M(NB, "m02_eliminate_dead_code_answer", "    gm.delete_all_unused_submodules()\n", "",
      "m02_eliminate_dead_code", "dead submodules kept (fails only the hidden parameter count)", hidden_only=True),
    M(NB, "m02_eliminate_dead_code_answer", "not has_side_effects(node)",
      'not (has_side_effects(node) and node.op != "call_function")',
      "m02_eliminate_dead_code", "side effects of functions ignored (rand_like, torch.relu_)", hidden_only=True),
    # fold_constants
    M(NB, "m02_fold_constants_answer", "    gm = copy.deepcopy(gm)\n", "",
      "m02_fold_constants", "edits the graph it was given"),
    M(NB, "m02_fold_constants_answer", "all(a in values for a in node.all_input_nodes)",
      'all(a.op == "get_attr" for a in node.all_input_nodes)',
      "m02_fold_constants", "folds one step only, not chains of constants"),
    M(NB, "m02_fold_constants_answer",
      "    for node in list(reversed(graph.nodes)):\n        if node in values and not node.users:\n"
      "            graph.erase_node(node)\n", "",
      "m02_fold_constants", "the nodes that computed the constants are left in the graph"),
    M(NB, "m02_fold_constants_answer", "        if all(user in values for user in node.users):\n            continue\n", "",
      "m02_fold_constants", "a buffer for every constant, not only the last of each chain"),
    M(NB, "m02_fold_constants_answer", " and not has_side_effects(node)", "",
      "m02_fold_constants", "random ops folded into one fixed draw", hidden_only=True),
    M(NB, "m02_fold_constants_answer", ' or not isinstance(value, torch.Tensor)', "",
      "m02_fold_constants", "ints from shapes registered as buffers", hidden_only=True),
]
