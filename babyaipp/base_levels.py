"""Base levels of the original BabyAI++ that minigrid 3.x does not ship."""

from __future__ import annotations

from minigrid.envs.babyai.core.roomgrid_level import RoomGridLevel
from minigrid.envs.babyai.core.verifier import GoToInstr, ObjDesc


class GoToRedBallMaze(RoomGridLevel):
    """Go to the red ball, somewhere in a 3×3 maze of rooms with closed doors.

    The original BabyAI++ ``Level_GoToRedBall_Maze``: rooms of size 8 (a 22×22 grid), doors
    made by ``connect_all`` and left closed, a single red ball in a random room, no
    distractors. ``max_steps`` is BabyAI's default, ``room_size² · rows · cols`` = 576.
    """

    def __init__(self, room_size: int = 8, num_rows: int = 3, num_cols: int = 3, **kwargs):
        super().__init__(num_rows=num_rows, num_cols=num_cols, room_size=room_size, **kwargs)

    def gen_mission(self) -> None:
        self.place_agent()
        self.connect_all()
        i = self._rand_int(0, self.num_cols)
        j = self._rand_int(0, self.num_rows)
        obj, _ = self.add_object(i, j, "ball", "red")
        self.check_objs_reachable()
        self.instrs = GoToInstr(ObjDesc(obj.type, obj.color))
